/**
 * TCP slot keeping for the DNS listener: who may hold a connection, and for how long.
 *
 * One address holding every slot with connections that trickle a byte every few seconds used to
 * shut TCP (and so every AXFR, IXFR and retry after TC) for everybody else. Three limits close that:
 *
 * - a per-client cap (`tcp_max_per_client`; a client is one IPv4 address, or one IPv6 /64, which
 *   a single host usually holds whole), so one client can never take the whole table;
 * - a deadline for each incoming message (`tcp_message_timeout`), counted from the first byte of
 *   the message: more bytes do not extend it, so a trickle is closed when it runs out. It covers
 *   incoming queries only; answers and outgoing transfer streams are paced by the client's reading
 *   and bounded by the idle timeout, so a large AXFR is never cut by it;
 * - an idle timeout between messages (`tcp_idle_timeout`, no reads and no writes), as Knot's
 *   tcp-idle-timeout.
 *
 * And when the table (`tcp_max_clients`) is full, a newcomer takes the slot of the connection idle
 * the longest (between messages, nothing to write), else of one still waiting for the rest of a
 * message (the client holding the most first), else of the client holding the most (fair share),
 * instead of being refused; so many addresses each holding a few slots cannot lock others out
 * either (RFC 7766 section 6.2.3 lets a server close connections when it runs short). Every refusal and close is counted in the metrics; the log says so at most
 * once per ten seconds per kind, so an attack does not flood it.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { clientPrefix } from '../records/ip.ts';

/** The limits; all durations in ms. */
export interface TcpLimits {
  /** Connections held at once, all clients together. */
  maxClients: number;
  /** Connections one client (IPv4 address, IPv6 /64) holds at once. */
  maxPerClient: number;
  /** Time from the first byte of an incoming message to its last byte. 0: no deadline. */
  messageTimeoutMs: number;
  /** Time without reads or writes before a connection is closed. */
  idleTimeoutMs: number;
}

/** Defaults: Knot's tcp-idle-timeout (10 s); a message deadline of 1 s (Knot's tcp-io-timeout is 500 ms). */
export const TCP_LIMIT_DEFAULTS: TcpLimits = {
  maxClients: 1000,
  maxPerClient: 20,
  messageTimeoutMs: 1000,
  idleTimeoutMs: 10_000,
};

/** Why a connection was refused or closed (the `reason` label of the metrics). */
export type TcpCloseReason = 'per_client_limit' | 'max_clients' | 'message_timeout' | 'idle_timeout' | 'evicted';

const LOG_EVERY_MS = 10_000;

/**
 * The client a connection counts against: the IPv4 address (IPv4-mapped IPv6 included), or the /64
 * of an IPv6 address (records/ip.ts parses it). Text that is not an address counts as itself.
 */
export function clientKey(address: string): string {
  const p = clientPrefix(address, 32, 64);
  if (p === undefined) return address;
  return p.endsWith('/32') ? p.slice(0, -3) : p;
}

/** One held connection: its deadline and idle timers, and what eviction needs to know. */
export class TcpSlot {
  /** When the slot last read or wrote (ms, Date.now()). */
  lastActive = Date.now();
  /** An incoming message has started and not ended. */
  private partial = false;
  /** When the current incoming message's first byte arrived (ms, Date.now()). */
  partialSince = 0;
  /** Armed only while a message is partial (a cleared Node timer cannot be refreshed). */
  private deadline: NodeJS.Timeout | undefined;
  private released = false;

  constructor(
    readonly socket: net.Socket,
    readonly client: string,
    private readonly guard: TcpGuard,
  ) {
    socket.setTimeout(guard.limits.idleTimeoutMs, () => this.close('idle_timeout'));
    socket.on('close', () => this.release());
  }

  /**
   * After each chunk read: `pending` bytes of an unfinished message are buffered (0: none);
   * `completed` whether the chunk finished at least one message. A new message's deadline starts
   * at its first byte; bytes of a message already started do not move it.
   */
  received(pending: number, completed: boolean): void {
    const now = Date.now();
    this.lastActive = now;
    if (pending === 0) {
      this.partial = false;
      if (this.deadline) {
        clearTimeout(this.deadline);
        this.deadline = undefined;
      }
      return;
    }
    if (this.partial && !completed) return;
    this.partial = true;
    this.partialSince = now;
    const ms = this.guard.limits.messageTimeoutMs;
    if (ms <= 0) return;
    if (this.deadline) this.deadline.refresh();
    else this.deadline = setTimeout(this.onDeadline, ms);
  }

  /** After each write: the connection is busy answering. */
  sent(): void {
    this.lastActive = Date.now();
  }

  /** Between messages, with nothing left to write: closing it loses no work. */
  get idle(): boolean {
    return !this.partial && this.socket.writableLength === 0;
  }

  /** Part of a message received, the rest still awaited (a slow client, or a slow-loris). */
  get midMessage(): boolean {
    return this.partial;
  }

  private readonly onDeadline = (): void => {
    if (!this.partial || this.socket.destroyed) return;
    // Reads paused by us (the client's answers are backed up): the rest of the message may wait
    // in the kernel through no fault of the client; the idle timeout bounds a client that stops reading.
    if (this.socket.isPaused()) {
      this.deadline?.refresh();
      return;
    }
    this.close('message_timeout');
  };

  /** Close the connection now, counting why. */
  close(reason: TcpCloseReason): void {
    if (this.socket.destroyed) return;
    this.guard.closed(this, reason);
    this.socket.destroy();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.guard.release(this);
  }
}

/** Counts refusals and closes, and logs them at most once per ten seconds per reason. */
class Reporter {
  private readonly pending = new Map<TcpCloseReason, { n: number; last: number; clients: Set<string> }>();

  constructor(
    private readonly logger: Logger | undefined,
    private readonly metrics: Pick<Metrics, 'dnsTcpClosed'> | undefined,
  ) {}

  note(reason: TcpCloseReason, client: string, limits: TcpLimits): void {
    this.metrics?.dnsTcpClosed.inc({ reason });
    if (!this.logger) return;
    let p = this.pending.get(reason);
    if (!p) this.pending.set(reason, (p = { n: 0, last: 0, clients: new Set() }));
    p.n++;
    if (p.clients.size < 5) p.clients.add(client);
    const now = Date.now();
    if (now - p.last < LOG_EVERY_MS) return;
    const detail = {
      reason,
      connections: p.n,
      clients: [...p.clients],
      limit:
        reason === 'per_client_limit'
          ? { tcp_max_per_client: limits.maxPerClient }
          : reason === 'message_timeout'
            ? { tcp_message_timeout_ms: limits.messageTimeoutMs }
            : reason === 'idle_timeout'
              ? { tcp_idle_timeout_ms: limits.idleTimeoutMs }
              : { tcp_max_clients: limits.maxClients },
    };
    // Idle closes are routine (RFC 7766 clients expect them); the others mean a limit was reached.
    if (reason === 'idle_timeout') this.logger.debug(detail, 'DNS TCP connections closed');
    else this.logger.warn(detail, MESSAGES[reason]);
    p.n = 0;
    p.last = now;
    p.clients.clear();
  }
}

const MESSAGES: Record<TcpCloseReason, string> = {
  per_client_limit: 'DNS TCP connections refused: client at tcp_max_per_client',
  max_clients: 'DNS TCP connections refused: tcp_max_clients reached and no slot could be freed',
  message_timeout: 'DNS TCP connections closed: a message did not arrive whole within tcp_message_timeout',
  idle_timeout: 'DNS TCP connections closed: idle',
  evicted: 'DNS TCP connections closed to make room for other clients (tcp_max_clients reached)',
};

/** The connection table of one DNS server (all its listeners). */
export class TcpGuard {
  private readonly slots = new Set<TcpSlot>();
  private readonly perClient = new Map<string, number>();
  private readonly reporter: Reporter;

  constructor(
    readonly limits: TcpLimits,
    logger?: Logger,
    private readonly metrics?: Pick<Metrics, 'dnsTcpClosed' | 'dnsTcpOpen'>,
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`TCP limit ${k} must be a non-negative number, got ${v}`);
    }
    if (limits.maxClients < 1 || limits.maxPerClient < 1) throw new RangeError('tcp_max_clients and tcp_max_per_client must be at least 1');
    this.reporter = new Reporter(logger, metrics);
  }

  /** Connections held now. */
  get size(): number {
    return this.slots.size;
  }

  /** Connections held now by the client of `address`. */
  heldBy(address: string): number {
    return this.perClient.get(clientKey(address)) ?? 0;
  }

  /** A new connection: its slot, or undefined when it was refused (and destroyed). */
  admit(socket: net.Socket): TcpSlot | undefined {
    const client = clientKey(socket.remoteAddress ?? '');
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.limits.maxPerClient) return this.refuse(socket, client, 'per_client_limit');
    if (this.slots.size >= this.limits.maxClients) {
      const victim = this.victimFor(held);
      if (!victim) return this.refuse(socket, client, 'max_clients');
      victim.close('evicted');
      // The victim's socket reports 'close' on a later turn; its slot is given up now.
      this.release(victim);
    }
    const slot = new TcpSlot(socket, client, this);
    this.slots.add(slot);
    this.perClient.set(client, held + 1);
    if (this.metrics) this.metrics.dnsTcpOpen.value = this.slots.size;
    return slot;
  }

  /**
   * The connection to close for a newcomer whose client holds `held`, in this order:
   * 1. the one idle the longest (between messages, nothing to write: closing it loses no work);
   * 2. one waiting for the rest of a message (a slow client or a slow-loris, which its deadline
   *    would close soon anyway): of the client holding the most, then the one waiting longest;
   * 3. the oldest connection of the client holding the most, if that is more than the newcomer
   *    would hold (held + 1): fair shares, even against busy connections.
   * None: the newcomer is refused.
   */
  private victimFor(held: number): TcpSlot | undefined {
    let idlest: TcpSlot | undefined;
    let waiting: TcpSlot | undefined;
    let waitingHeld = 0;
    for (const s of this.slots) {
      if (s.idle) {
        if (!idlest || s.lastActive < idlest.lastActive) idlest = s;
      } else if (!idlest && s.midMessage) {
        const n = this.perClient.get(s.client) ?? 0;
        if (!waiting || n > waitingHeld || (n === waitingHeld && s.partialSince < waiting.partialSince)) {
          waiting = s;
          waitingHeld = n;
        }
      }
    }
    if (idlest) return idlest;
    if (waiting) return waiting;
    let top: string | undefined;
    let most = held + 1;
    for (const [client, n] of this.perClient) {
      if (n > most) {
        most = n;
        top = client;
      }
    }
    if (top === undefined) return undefined;
    // Slots are in insertion order: the first of that client is its oldest.
    for (const s of this.slots) if (s.client === top) return s;
    return undefined;
  }

  private refuse(socket: net.Socket, client: string, reason: TcpCloseReason): undefined {
    this.reporter.note(reason, client, this.limits);
    socket.destroy();
    return undefined;
  }

  /** @internal A slot closed by a limit. */
  closed(slot: TcpSlot, reason: TcpCloseReason): void {
    this.reporter.note(reason, slot.client, this.limits);
  }

  /** @internal A slot given up (its socket closed, or evicted). */
  release(slot: TcpSlot): void {
    if (!this.slots.delete(slot)) return;
    const n = (this.perClient.get(slot.client) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(slot.client);
    else this.perClient.set(slot.client, n);
    if (this.metrics) this.metrics.dnsTcpOpen.value = this.slots.size;
  }
}
