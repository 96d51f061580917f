/**
 * NOTIFY (RFC 1996), both ways. Out: after every serial change of a zone (seen on ledger.state$),
 * each of the zone's secondaries (its `[transfer.zone_notify]` list, else every `notify` target)
 * gets a NOTIFY over UDP, signed with `notify_key` when set, retried with exponential backoff until
 * it answers; a newer serial replaces a pending one. An answer is an acknowledgement only with
 * NOERROR: any other rcode is a refusal (NSD answers REFUSED or NOTAUTH to an unsigned NOTIFY when
 * it wants a key), reported apart from NOTIFYs that were never answered. NOTAUTH is asked again
 * twice on the retry schedule first (NOTAUTH_RETRIES: a catalog consumer's answer for a zone it has
 * not added yet). In: MCNS is never a secondary, so a NOTIFY
 * changes nothing here; one from a configured peer (a `[transfer] allow_from` address, an
 * `allow_keys` key, or a `notify` target) is acknowledged (NOERROR + AA for our zones, NOTAUTH for
 * others) so its logs stay quiet, and one from anyone else is REFUSED, as BIND does for a sender
 * that is not a configured primary (Knot answers NOTAUTH). Refusals are logged at debug level only:
 * anyone can send them, at any rate.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Observable, Subscription } from 'rxjs';
import { McnsError } from '../../errors.ts';
import type { LedgerState } from '../../projections/state.ts';
import type { ParsedQuery } from '../query.ts';
import { encodeMessage } from '../wire.ts';
import { soaWire } from './axfr.ts';
import { RCODE, responseFlags } from '../header.ts';
import { OPCODE, QTYPE } from './message.ts';
import { signRequest, type TsigKey } from './tsig.ts';

/** A secondary to notify. */
export interface NotifyTarget {
  host: string;
  port: number;
}

/** The logging calls used (pino's signature). */
export interface TransferLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** For what anyone on the network can trigger at will (pino has it; optional for test loggers). */
  debug?(obj: object, msg?: string): void;
}

/** Parse "192.0.2.2:53", "[2001:db8::2]:53", "::1" or "192.0.2.2" (port 53). Throws McnsError. */
export function parseTarget(text: string, field = 'transfer.notify'): NotifyTarget {
  let host = text;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (isIP(text) !== 6) {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      host = text.slice(0, colon);
      port = Number(text.slice(colon + 1));
    }
  }
  if (!isIP(host)) throw new McnsError('invalid', `"${text}" must be an IP address with an optional port`, field);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new McnsError('invalid', `"${text}" has a port outside 1..65535`, field);
  return { host, port };
}

/** How NOTIFYs are sent. */
export interface NotifierOptions {
  /** Targets of every zone not in `zoneTargets`. */
  targets: readonly string[];
  /** Zone (absolute, lowercase) -> its own targets, instead of `targets`. */
  zoneTargets?: Readonly<Record<string, readonly string[]>>;
  /** Sign NOTIFYs with this key (secondaries that require TSIG on NOTIFY). */
  key?: TsigKey;
  /** First retry after this many ms, doubling each time (default 1000). */
  retryMs?: number;
  /** Largest wait between retries (default 60000, RFC 1996's suggested interval). */
  maxRetryMs?: number;
  /** Attempts before giving up on one serial (default 10). */
  maxAttempts?: number;
  /** Source address of the sockets (tests bind loopback). */
  localAddress?: string;
  /** Also notify every zone present when start() is called (BIND's behaviour at load). Default true. */
  notifyOnStart?: boolean;
  logger?: TransferLogger;
  /**
   * Called with the outcome of each NOTIFY (metrics): acknowledged (NOERROR), refused (any other
   * rcode, given by name), timeout (no answer after maxAttempts), or retry (one more attempt).
   */
  onOutcome?: (outcome: NotifyOutcome, zone: string, target: string, rcode?: string) => void;
}

/** What became of one NOTIFY. */
export type NotifyOutcome = 'acked' | 'refused' | 'timeout' | 'retry';

/** Names of the rcodes a NOTIFY can be answered with (RFC 1035, 2136, 8945 extended ones excluded). */
const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE' };

/** "REFUSED" for 5; "RCODE11" for a code without a name. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

interface Pending {
  zone: string;
  serial: number;
  target: NotifyTarget;
  targetText: string;
  id: number;
  attempts: number;
  timer?: NodeJS.Timeout;
  bytes: Buffer;
  /** NOTAUTH answers so far (asked again up to NOTAUTH_RETRIES times). */
  notauth: number;
}

/**
 * NOTAUTH ("I do not serve this zone") is asked again this many times, on the retry schedule,
 * before it counts as a refusal: a catalog consumer (Knot, BIND) answers it for a zone just
 * created when the NOTIFY for the zone arrives before it has applied the catalog that lists it,
 * and serves the zone a moment later. Any other rcode is final at once.
 */
const NOTAUTH_RETRIES = 2;

/** Sends NOTIFYs for serial changes; start() subscribes, stop() cancels everything. */
export class Notifier {
  private readonly targets: { target: NotifyTarget; text: string }[];
  private readonly zoneTargets = new Map<string, { target: NotifyTarget; text: string }[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly byId = new Map<number, Pending>();
  private readonly serials = new Map<string, number>();
  private sockets: { 4?: Socket; 6?: Socket } = {};
  private sub?: Subscription;
  private nextId = Math.floor(Math.random() * 0x10000);
  /** NOTIFYs acknowledged (answered NOERROR) so far (tests and logs). */
  acked = 0;
  /** NOTIFYs answered with another rcode so far. */
  refused = 0;
  /** NOTIFYs given up on without an answer so far. */
  timedOut = 0;

  constructor(private readonly opts: NotifierOptions) {
    this.targets = opts.targets.map((t, i) => ({ target: parseTarget(t, `transfer.notify[${i}]`), text: t }));
    for (const [zone, list] of Object.entries(opts.zoneTargets ?? {})) {
      const name = zone.toLowerCase().replace(/\.?$/, '.');
      this.zoneTargets.set(name, list.map((t, i) => ({ target: parseTarget(t, `transfer.zone_notify.${zone}[${i}]`), text: t })));
    }
  }

  /** Whether any zone has a target (else there is nothing to follow). */
  get hasTargets(): boolean {
    return this.targets.length > 0 || [...this.zoneTargets.values()].some((l) => l.length > 0);
  }

  /** The secondaries told about `zone`: its own list, else every `notify` target. */
  targetsOf(zone: string): readonly string[] {
    return (this.zoneTargets.get(zone) ?? this.targets).map((t) => t.text);
  }

  /** Follow the projection and notify on every serial change. */
  start(state$: Observable<LedgerState>): void {
    if (this.sub) return;
    let first = true;
    this.sub = state$.subscribe((state) => {
      for (const [name, zone] of state.zones) {
        const prev = this.serials.get(name);
        if (prev === zone.serial) continue;
        this.serials.set(name, zone.serial);
        if (first && this.opts.notifyOnStart === false) continue;
        this.notifyZone(state, name);
      }
      for (const name of this.serials.keys()) if (!state.zones.has(name)) this.serials.delete(name);
      first = false;
    });
  }

  private socket(family: 4 | 6): Socket {
    let s = this.sockets[family];
    if (!s) {
      s = createSocket(family === 4 ? 'udp4' : 'udp6');
      s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address));
      s.on('error', (err) => this.opts.logger?.warn({ err: err.message }, 'notify socket error'));
      if (this.opts.localAddress && isIP(this.opts.localAddress) === family) s.bind(0, this.opts.localAddress);
      s.unref();
      this.sockets[family] = s;
    }
    return s;
  }

  /** Send NOTIFY for one zone of `state` to every target (replacing pending ones for that zone). */
  notifyZone(state: LedgerState, name: string): void {
    const zone = state.zones.get(name);
    if (!zone) return;
    for (const { target, text } of this.zoneTargets.get(name) ?? this.targets) {
      const key = `${name}|${text}`;
      const old = this.pending.get(key);
      if (old) this.drop(key, old);
      const id = this.nextId++ & 0xffff;
      let bytes = encodeMessage({
        id,
        flags: (OPCODE.NOTIFY << 11) | 0x0400,
        question: [{ name, type: QTYPE.SOA, class: 1 }],
        answer: [soaWire(zone)],
        authority: [],
        additional: [],
      }).bytes;
      if (this.opts.key) bytes = signRequest(bytes, this.opts.key).bytes;
      const p: Pending = { zone: name, serial: zone.serial, target, targetText: text, id, attempts: 0, bytes, notauth: 0 };
      this.pending.set(key, p);
      this.byId.set(id, p);
      this.send(key, p);
    }
  }

  private send(key: string, p: Pending): void {
    p.attempts++;
    const family = isIP(p.target.host) === 6 ? 6 : 4;
    this.socket(family).send(p.bytes, p.target.port, p.target.host);
    this.opts.logger?.debug?.({ zone: p.zone, serial: p.serial, target: p.targetText, attempt: p.attempts }, 'NOTIFY sent');
    const max = this.opts.maxAttempts ?? 10;
    const wait = Math.min((this.opts.retryMs ?? 1000) * 2 ** (p.attempts - 1), this.opts.maxRetryMs ?? 60000);
    p.timer = setTimeout(() => {
      if (this.pending.get(key) !== p) return;
      if (p.attempts >= max) {
        this.drop(key, p);
        if (p.notauth > 0) return this.refuse(p, RCODE.NOTAUTH);
        this.timedOut++;
        this.opts.logger?.warn({ zone: p.zone, serial: p.serial, target: p.targetText, attempts: p.attempts, outcome: 'timeout' }, 'NOTIFY timed out: no answer; giving up');
        this.opts.onOutcome?.('timeout', p.zone, p.targetText);
        return;
      }
      this.opts.onOutcome?.('retry', p.zone, p.targetText);
      this.send(key, p);
    }, wait);
    p.timer.unref();
  }

  private drop(key: string, p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(key);
    this.byId.delete(p.id);
  }

  private onMessage(msg: Buffer, from: string): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    const p = this.byId.get(id);
    if (!p || !(flags & 0x8000) || ((flags >> 11) & 0xf) !== OPCODE.NOTIFY) return;
    if (from.replace(/^::ffff:/, '') !== p.target.host.replace(/^::ffff:/, '')) return;
    const rcode = flags & 0xf;
    if (rcode === RCODE.NOTAUTH && p.notauth < NOTAUTH_RETRIES && p.attempts < (this.opts.maxAttempts ?? 10)) {
      // Left pending: the retry timer already armed sends it again (see NOTAUTH_RETRIES).
      p.notauth++;
      this.opts.logger?.debug?.({ zone: p.zone, serial: p.serial, target: p.targetText, attempts: p.attempts }, 'NOTIFY answered NOTAUTH: asking again (a catalog consumer may not have added the zone yet)');
      return;
    }
    this.drop(`${p.zone}|${p.targetText}`, p);
    if (rcode !== RCODE.NOERROR) {
      // Not retried (NOTAUTH after its retries): the secondary answered, and asking again gets the same answer (wrong key, zone not carried).
      this.refuse(p, rcode);
      return;
    }
    this.acked++;
    this.opts.logger?.info({ zone: p.zone, serial: p.serial, target: p.targetText, attempts: p.attempts, outcome: 'acked' }, 'NOTIFY acknowledged');
    this.opts.onOutcome?.('acked', p.zone, p.targetText, 'NOERROR');
  }

  private refuse(p: Pending, rcode: number): void {
    this.refused++;
    const name = rcodeName(rcode);
    this.opts.logger?.warn({ zone: p.zone, serial: p.serial, target: p.targetText, rcode: name, outcome: 'refused', attempts: p.attempts, signed: Boolean(this.opts.key) }, `NOTIFY refused by the secondary (${name})`);
    this.opts.onOutcome?.('refused', p.zone, p.targetText, name);
  }

  /** NOTIFYs still waiting for an answer. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Stop following and cancel retries; closes the sockets. */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    for (const [key, p] of this.pending) this.drop(key, p);
    for (const s of Object.values(this.sockets)) s?.close();
    this.sockets = {};
  }
}

/**
 * Who may send us NOTIFY: the transfer peers (`allow_from` addresses, verified `allow_keys` keys)
 * and the secondaries we notify ourselves (their address, whatever the source port).
 */
export function notifyPeers(acl: { allows(address: string, keyName?: string): boolean }, targets: readonly string[]): (address: string, keyName?: string) => boolean {
  const unmapped = (a: string): string => a.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  const hosts = new Set(targets.map((t, i) => unmapped(parseTarget(t, `transfer.notify[${i}]`).host)));
  return (address, keyName) => acl.allows(address, keyName) || hosts.has(unmapped(address));
}

/** The rcode an incoming NOTIFY gets: REFUSED from a stranger, else NOERROR for our zones, NOTAUTH otherwise. */
export function notifyRcode(q: ParsedQuery, fromPeer: boolean, isOurZone: (name: string) => boolean): number {
  if (!fromPeer) return RCODE.REFUSED;
  return q.qtype === QTYPE.SOA && isOurZone(q.qnameKey) ? RCODE.NOERROR : RCODE.NOTAUTH;
}

/** Answer an incoming NOTIFY with the rcode {@link notifyRcode} chose (AA on NOERROR). */
export function answerNotify(q: ParsedQuery, rcode: number): Buffer {
  const ours = rcode === RCODE.NOERROR;
  return encodeMessage({
    id: q.id,
    flags: responseFlags(q.flags, rcode, { aa: ours }),
    question: [{ name: q.qname, type: q.qtype, class: q.qclass }],
    answer: [],
    authority: [],
    additional: [],
  }).bytes;
}
