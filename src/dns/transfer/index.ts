/**
 * Zone transfers out, composed: one call, {@link createTransferHandlers}, gives the DNS listeners
 * the hook for AXFR/IXFR queries (several messages on one TCP connection), the NOTIFY opcode
 * handler, and the notifier that tells secondaries about every new serial.
 *
 * Order of checks for a transfer request: TSIG first (a bad signature is answered with the TSIG
 * error whatever else is wrong, RFC 8945 5.2), then "is this our zone" (NOTAUTH), then the access
 * list (REFUSED, logged), then the answer.
 */
import type Database from 'better-sqlite3';
import type { Observable } from 'rxjs';
import type { LedgerState, ZoneState } from '../../projections/state.ts';
import type { RecordState } from '../../projections/trie.ts';
import type { Metrics } from '../../metrics.ts';
import { McnsError } from '../../errors.ts';
import type { ParsedQuery } from '../query.ts';
import { answerQuery } from '../answer.ts';
import { emptyResponseBytes, maxResponseSize, RCODE } from '../header.ts';
import { zoneAtApex } from '../zones.ts';
import { encodeMessage } from '../wire.ts';
import { TransferAcl } from './acl.ts';
import { axfrMessages, DEFAULT_MESSAGE_SIZE, signedAxfrMessages, signedIxfrMessages } from './axfr.ts';
import type { SignedStep } from '../../dnssec/signer.ts';
import type { SignedZone } from '../../dnssec/signed-zone.ts';
import { ixfrMessages, planIxfr, singleSoaMessage, type IxfrPlan } from './ixfr.ts';
import { ixfrClientSerial, OPCODE, QTYPE } from './message.ts';
import { answerNotify, Notifier, notifyPeers, notifyRcode, type TransferLogger } from './notify.ts';
import { makeKeyring, TsigResponseSigner, tsigErrorResponse, verifyRequest, type TsigKey, type TsigKeyring } from './tsig.ts';

/** Re-exported so the composition (and DNS UPDATE, which verifies with the same keyring) needs one import. */
export { TransferAcl } from './acl.ts';
export { Notifier, parseTarget, type TransferLogger } from './notify.ts';
export { makeKeyring, type TsigKey, type TsigKeyring } from './tsig.ts';

/** Where a request came from and over which transport. */
export interface TransferPeer {
  address: string;
  port: number;
  transport: 'tcp' | 'udp';
}

/** The transfer configuration ([transfer] and [tsig.keys.*] of SPEC section 3). */
export interface TransferConfig {
  allow_from: string[];
  allow_keys: string[];
  notify: string[];
  /** Sign outgoing NOTIFY with this key (a name under `keys`). */
  notify_key?: string;
  /** Zone -> its own NOTIFY targets, instead of `notify` (a secondary that does not carry a zone is not told). */
  zone_notify?: Record<string, string[]>;
  /** Key name -> algorithm ("hmac-sha256") and secret (bytes, or base64 text as in the config file). */
  keys: Record<string, { algorithm: string; secret: Buffer | string }>;
}

/** Transfer messages written per event-loop turn (about 128 KiB). */
const MESSAGES_PER_TURN = 8;

/** What {@link createTransferHandlers} needs: the ledger's state, its database (the event log) and config. */
export interface TransferOptions {
  ledger: { readonly state: LedgerState; readonly state$: Observable<LedgerState>; readonly db: Database.Database };
  config: TransferConfig;
  logger?: TransferLogger;
  metrics?: Pick<Metrics, 'transfers' | 'notifies'> & Partial<Pick<Metrics, 'notifiesReceived'>> & Partial<Pick<Metrics, 'recordsSkipped'>>;
  /** Answer every IXFR with one condensed step instead of one step per serial. */
  condenseIxfr?: boolean;
  /** Payload bound of each transfer message (default 16 KiB). */
  messageSize?: number;
  /** Clock in seconds for TSIG (tests move it). */
  nowSec?: () => number;
  /** Signed zones (src/dnssec/signer.ts): transferred with their DNSSEC records. */
  signers?: { get(zone: string): SignedZone | undefined; ixfrSteps?(zone: string, from: number): SignedStep[] | undefined };
  /** Notifier tuning (retry timing, source address); targets come from config.notify. */
  notify?: {
    retryMs?: number;
    maxRetryMs?: number;
    maxAttempts?: number;
    localAddress?: string;
    notifyOnStart?: boolean;
    /** Do not start NOTIFYing until startNotify() (the server calls it once DNS listens: a secondary told too early finds no primary). */
    manualStart?: boolean;
  };
}

/** What the DNS listeners (src/dns/server.ts startDns) call. */
export interface TransferHandlers {
  /**
   * Called for every well-formed QUERY before normal answering. Handles AXFR, IXFR and TSIG-signed
   * queries (and returns true): writes one or more complete DNS messages (unframed) through `send`;
   * the first ones before it returns, the rest of a long transfer on the next event-loop turns; then
   * it returns a promise of the transfer's end instead of true, so the listener drains it on shutdown.
   */
  transfer(q: ParsedQuery, raw: Uint8Array, peer: TransferPeer, send: (msg: Buffer) => void): boolean | Promise<void>;
  /** Opcode handlers: 4 = NOTIFY. Return the response bytes (undefined: send nothing). */
  handlers: Record<number, (q: ParsedQuery, raw: Uint8Array, peer: TransferPeer) => Buffer | undefined>;
  /** The outgoing-NOTIFY sender (already started when there are targets, unless notify.manualStart). */
  notifier: Notifier;
  /** Start NOTIFYing (with notify.manualStart): every zone at once, then every serial change. */
  startNotify(): void;
  /** The parsed keys (DNS UPDATE verifies with the same keyring). */
  keyring: TsigKeyring;
  /** Zone transfers being sent right now. */
  readonly inFlight: number;
  /** Resolves once no transfer is being sent (the shutdown drain waits for it). */
  idle(): Promise<void>;
  /** Stop the notifier. */
  close(): void;
}

/** Bounded memo of IXFR plans: all secondaries of a zone usually ask for the same difference. */
class PlanCache {
  private readonly map = new Map<string, IxfrPlan>();
  constructor(private readonly max = 64) {}

  get(zone: ZoneState, from: number, make: () => IxfrPlan): IxfrPlan {
    const k = `${zone.name}|${zone.version}|${from}`;
    let p = this.map.get(k);
    if (!p) {
      p = make();
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
      this.map.set(k, p);
    }
    return p;
  }
}

/** Build the transfer hook, the NOTIFY handler and the notifier from config; one call for the server composition. */
export function createTransferHandlers(opts: TransferOptions): TransferHandlers {
  const { ledger, config, logger, metrics } = opts;
  const keyring = makeKeyring(config.keys);
  const acl = TransferAcl.from(config);
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const maxSize = opts.messageSize ?? DEFAULT_MESSAGE_SIZE;
  const plans = new PlanCache();
  let notifyKey: TsigKey | undefined;
  if (config.notify_key) {
    notifyKey = keyring.get(config.notify_key.toLowerCase().replace(/\.?$/, '.'));
    if (!notifyKey) throw new McnsError('invalid', `names key "${config.notify_key}", which is not defined under [tsig.keys]`, 'transfer.notify_key');
  }
  const notifier = new Notifier({
    targets: config.notify,
    zoneTargets: config.zone_notify,
    key: notifyKey,
    ...opts.notify,
    logger,
    // rcode: the answer's (NOERROR when acknowledged, the refusal's name), none for retries and timeouts.
    onOutcome: (outcome, zone, _target, rcode) => metrics?.notifies.inc(rcode === undefined ? { outcome, zone } : { outcome, zone, rcode }),
  });
  const startNotify = (): void => {
    if (notifier.hasTargets) notifier.start(ledger.state$);
  };
  if (!opts.notify?.manualStart) startNotify();
  // Transfers being pumped out: each one's completion, so the shutdown drain can wait for them.
  const sending = new Set<Promise<void>>();

  /** Verify TSIG if present: the key (or none), or the error response already sent. `quiet`: log failures at debug (NOTIFY). */
  const checkTsig = (q: ParsedQuery, raw: Uint8Array, peer: TransferPeer, send: (msg: Buffer) => void, quiet = false): { key?: TsigKey; mac?: Buffer } | null => {
    if (!q.hasTsig || q.tsigOffset === undefined) return {};
    const now = nowSec();
    const v = verifyRequest(raw, q.tsigOffset, keyring, now);
    if (v.ok) return { key: v.key, mac: v.tsig.mac };
    const failed = { peer: peer.address, zone: q.qnameKey, opcode: q.opcode, tsigError: v.error, reason: v.reason };
    if (quiet) logger?.debug?.(failed, 'TSIG verification failed');
    else logger?.warn(failed, 'TSIG verification failed');
    const base = emptyResponseBytes(q, v.formerr ? RCODE.FORMERR : RCODE.NOTAUTH);
    send(v.formerr ? base : tsigErrorResponse(base, v, now));
    return null;
  };

  /**
   * A TSIG-signed ordinary query (a secondary's SOA refresh check with its key): verified, answered
   * by the authoritative answerer, and the answer signed, since the client rejects an unsigned one.
   */
  const signedQuery = (q: ParsedQuery, raw: Uint8Array, peer: TransferPeer, send: (msg: Buffer) => void): boolean => {
    const tsig = checkTsig(q, raw, peer, send);
    if (!tsig) return true;
    const tcp = peer.transport === 'tcp';
    // A secondary's refresh check: the step between a NOTIFY and its transfer (bench/fleet --trace reads it).
    logger?.debug?.({ peer: peer.address, port: peer.port, transport: peer.transport, zone: q.qnameKey, qtype: q.qtype, serial: ledger.state.zones.get(q.qnameKey)?.serial }, 'signed query');
    const a = answerQuery(ledger.state, q, { tcp });
    if (a.result === 'forward') return false;
    // Leave room for the TSIG RR (owner, algorithm, MAC of up to 64 bytes, fixed fields).
    const limit = Math.max(512, maxResponseSize(q, tcp) - (tsig.key!.name.length + 100));
    const msg = encodeMessage(a.message, limit).bytes;
    send(new TsigResponseSigner(tsig.key!, tsig.mac!, nowSec).sign(msg));
    return true;
  };

  /**
   * An IXFR over UDP answered whole: one message within the client's UDP size (room left for the
   * TSIG record), for an unsigned zone whose log holds the client's serial. A secondary that asks
   * over UDP (NSD's `request-xfr: UDP`) then gets a small change without a TCP connection, which a
   * busy primary accepts only one per event-loop turn. Undefined: answer with the single SOA.
   */
  const udpIxfr = (q: ParsedQuery, raw: Uint8Array, zone: ZoneState, key: TsigKey | undefined): Buffer | undefined => {
    if (zone.dnssec?.enabled) return undefined;
    const serial = ixfrClientSerial(raw, q);
    if (serial === undefined) return undefined;
    const plan = plans.get(zone, serial, () => planIxfr(ledger.db, zone, serial, { condense: opts.condenseIxfr }));
    if (plan.kind !== 'ixfr') return undefined;
    const limit = maxResponseSize(q, false) - (key ? key.name.length + 100 : 0);
    // Packed as one message (the packer's estimate ignores name compression), then measured.
    const skipped: RecordState[] = [];
    const messages = ixfrMessages(plan, q, 65535, skipped);
    const first = messages.next();
    if (first.done || !messages.next().done || skipped.length > 0 || first.value.length > limit) return undefined;
    return first.value;
  };

  const transfer = (q: ParsedQuery, raw: Uint8Array, peer: TransferPeer, send: (msg: Buffer) => void): boolean | Promise<void> => {
    if (q.opcode !== OPCODE.QUERY) return false;
    if (q.qtype !== QTYPE.AXFR && q.qtype !== QTYPE.IXFR) return q.hasTsig ? signedQuery(q, raw, peer, send) : false;
    const kind = q.qtype === QTYPE.AXFR ? 'axfr' : 'ixfr';
    const tsig = checkTsig(q, raw, peer, send);
    if (!tsig) {
      metrics?.transfers.inc({ kind, outcome: 'badtsig' });
      return true;
    }
    const signer = tsig.key ? new TsigResponseSigner(tsig.key, tsig.mac!, nowSec) : undefined;
    const out = (msg: Buffer): void => send(signer ? signer.sign(msg) : msg);
    const zone = zoneAtApex(ledger.state, q);
    if (!zone) {
      metrics?.transfers.inc({ kind, outcome: 'notauth' });
      out(emptyResponseBytes(q, RCODE.NOTAUTH));
      return true;
    }
    if (!acl.allows(peer.address, tsig.key?.name)) {
      logger?.warn({ peer: peer.address, port: peer.port, zone: zone.name, kind, key: tsig.key?.name }, 'zone transfer refused: peer not in [transfer] allow_from/allow_keys');
      metrics?.transfers.inc({ kind, outcome: 'refused' });
      out(emptyResponseBytes(q, RCODE.REFUSED));
      return true;
    }
    if (peer.transport === 'udp') {
      // AXFR is TCP-only (RFC 5936 4.2). IXFR over UDP (RFC 1995 2): the whole answer when it fits
      // in one datagram, else the current SOA ("use TCP", or "up to date").
      if (kind === 'axfr') out(emptyResponseBytes(q, RCODE.FORMERR));
      else {
        const small = udpIxfr(q, raw, zone, tsig.key);
        out(small ?? singleSoaMessage(zone, q));
        if (small) logger?.info({ peer: peer.address, port: peer.port, zone: zone.name, serial: zone.serial, how: 'ixfr-udp', bytes: small.length, key: tsig.key?.name }, 'zone transfer sent');
        else logger?.debug?.({ peer: peer.address, port: peer.port, zone: zone.name, serial: zone.serial, key: tsig.key?.name }, 'IXFR over UDP answered with the SOA');
        metrics?.transfers.inc({ kind, outcome: small ? 'ok-udp' : 'udp' });
      }
      return true;
    }
    const started = Date.now();
    const signed = zone.dnssec?.enabled ? opts.signers?.get(zone.name) : undefined;
    // Records that cannot be encoded (stored by an older build) are left out and reported once the transfer is sent.
    const skipped: RecordState[] = [];
    let messages: Iterable<Buffer>;
    let how: string = kind;
    let reason: string | undefined;
    if (kind === 'ixfr') {
      const serial = ixfrClientSerial(raw, q);
      if (serial === undefined) {
        out(emptyResponseBytes(q, RCODE.FORMERR));
        metrics?.transfers.inc({ kind, outcome: 'formerr' });
        return true;
      }
      const plan = plans.get(zone, serial, () => planIxfr(ledger.db, zone, serial, { condense: opts.condenseIxfr }));
      if (plan.kind === 'uptodate') {
        how = 'ixfr-uptodate';
        messages = [singleSoaMessage(zone, q)];
      } else if (signed) {
        // The log's steps hold record changes, not the signatures and chain records they moved:
        // a signed zone's steps come from the signer's journal; a client older than the journal
        // gets the whole signed zone (RFC 1995 4 allows it).
        const steps = opts.signers?.ixfrSteps?.(zone.name, serial);
        if (steps) {
          messages = signedIxfrMessages(zone, steps, q, maxSize);
        } else {
          how = 'ixfr-as-axfr';
          reason = 'signed zone: the client\'s serial is older than the signer\'s journal';
          messages = signedAxfrMessages(zone, signed.records(), q, maxSize);
        }
      } else if (plan.kind === 'axfr') {
        how = 'ixfr-as-axfr';
        reason = plan.reason;
        messages = axfrMessages(zone, q, maxSize, skipped);
      } else {
        messages = ixfrMessages(plan, q, maxSize, skipped);
      }
      logger?.info({ peer: peer.address, port: peer.port, zone: zone.name, from: serial, to: zone.serial, how, reason, key: tsig.key?.name }, 'IXFR request');
    } else {
      messages = signed ? signedAxfrMessages(zone, signed.records(), q, maxSize) : axfrMessages(zone, q, maxSize, skipped);
    }
    // Sent in slices of a few messages per event-loop turn, so a large AXFR (0.7 s of encoding for
    // 100,000 records) never stalls the other queries this process answers. The zone is an immutable
    // snapshot, so the transfer stays consistent while writes go on.
    const iter = messages[Symbol.iterator]();
    let count = 0;
    let unsignedBytes = 0;
    let bytes = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    sending.add(done);
    void done.then(() => sending.delete(done));
    const pump = (): void => {
      try {
        for (let i = 0; i < MESSAGES_PER_TURN; i++) {
          const next = iter.next();
          if (next.done) {
            if (skipped.length > 0) {
              metrics?.recordsSkipped?.inc({ path: kind }, skipped.length);
              logger?.warn(
                { peer: peer.address, zone: zone.name, how, skipped: skipped.length, records: skipped.slice(0, 20).map((r) => ({ id: r.id, name: r.name, type: r.type, valueLength: r.value.length })) },
                'zone transfer left out records that cannot be encoded (rdata over 65535 bytes or too large for one message; written by an older build: delete or shorten them)',
              );
            }
            metrics?.transfers.inc({ kind: how, outcome: 'ok' });
            logger?.info({ peer: peer.address, port: peer.port, zone: zone.name, serial: zone.serial, how, messages: count, bytes, unsignedBytes, ms: Date.now() - started, key: tsig.key?.name }, 'zone transfer sent');
            finish();
            return;
          }
          count++;
          unsignedBytes += next.value.length;
          const signedMsg = signer ? signer.sign(next.value) : next.value;
          bytes += signedMsg.length;
          send(signedMsg);
        }
        setImmediate(pump);
      } catch (err) {
        metrics?.transfers.inc({ kind: how, outcome: 'error' });
        logger?.warn({ peer: peer.address, zone: zone.name, err: (err as Error).message }, 'zone transfer failed');
        finish();
      }
    };
    pump();
    // Still being sent after the first slice: the listener counts it as in flight (shutdown drains it).
    return sending.has(done) ? done : true;
  };

  // NOTIFY in (notify.ts): acknowledged for configured peers, REFUSED for anyone else, logged at debug only.
  const notifyFrom = notifyPeers(acl, [...config.notify, ...Object.values(config.zone_notify ?? {}).flat()]);
  const notifyIn = (q: ParsedQuery, raw: Uint8Array, peer: TransferPeer): Buffer | undefined => {
    let reply: Buffer | undefined;
    const tsig = checkTsig(q, raw, peer, (m) => (reply = m), true);
    if (!tsig) {
      metrics?.notifiesReceived?.inc({ outcome: 'badtsig' });
      return reply;
    }
    const rcode = notifyRcode(q, notifyFrom(peer.address, tsig.key?.name), (name) => ledger.state.zones.has(name));
    metrics?.notifiesReceived?.inc({ outcome: rcode === RCODE.NOERROR ? 'accepted' : rcode === RCODE.REFUSED ? 'refused' : 'notauth' });
    if (rcode === RCODE.REFUSED) logger?.debug?.({ peer: peer.address, port: peer.port, zone: q.qnameKey, key: tsig.key?.name }, 'NOTIFY refused: sender is not a configured peer ([transfer] allow_from, allow_keys or notify)');
    const msg = answerNotify(q, rcode);
    return tsig.key ? new TsigResponseSigner(tsig.key, tsig.mac!, nowSec).sign(msg) : msg;
  };

  return {
    transfer,
    handlers: { [OPCODE.NOTIFY]: notifyIn },
    notifier,
    startNotify,
    keyring,
    get inFlight() {
      return sending.size;
    },
    idle: async () => {
      while (sending.size > 0) await Promise.all([...sending]);
    },
    close: () => notifier.stop(),
  };
}
