/**
 * The live feed: the event log as server-sent events (text/event-stream), for the web console and
 * anyone else who wants changes as they happen without polling.
 *
 *     GET /v1/feed?zone=example.com&after=<seq>      Authorization: Bearer <token>
 *
 * It is authorized exactly like reading a zone's history (the `read` level: the feed carries nothing
 * a history page would not), with the bearer header, so a browser reads it with fetch() and a stream
 * reader rather than EventSource (which can send no header): no token in the URL, no cookie. The
 * token is checked again on every keep-alive, so a revoked or expired token ends the stream.
 *
 * Messages: first `event: hello` with the caller (username, account type, roles, what it may do: the
 * server's own authorization table, so the page hides what the server would refuse) and the log
 * head; then one `event: change` per appended batch of the zone (or of every zone without `zone`),
 * with `id:` the batch's last seq and the events as GET /v1/events shows them; `: keep-alive`
 * comments every 15 s; `event: error` before the server ends the stream.
 */
import type { FastifyInstance } from 'fastify';
import { filter, map } from 'rxjs';
import { invalid } from '../errors.ts';
import type { Ledger } from '../ledger.ts';
import { zoneName } from '../projections/decide.ts';
import type { Identity } from './auth.ts';
import { authorize, permits, recordScope } from './authz.ts';
import { httpError } from './errors-map.ts';
import type { ApiService } from './service.ts';
import { eventView } from './views.ts';

/** What the caller may do, as the page needs it (derived from authz.ts, never a second table). */
export interface Capabilities {
  /** Zone lifecycle, import, restore (admin). */
  zone_admin: boolean;
  /** Record writes: every record, only records named after the account, or none. */
  records: 'all' | 'own' | 'none';
}

/** The caller's capabilities from the authorization table. */
export function capabilitiesOf(id: Identity): Capabilities {
  const zoneAdmin = permits(id, 'zones.restore');
  return { zone_admin: zoneAdmin, records: recordScope(id) };
}

/** One server-sent event, in the wire format (data is one JSON line). */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** How often the stream sends a comment and re-checks the token (ms). */
const KEEP_ALIVE_MS = 15_000;

function parseAfter(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw invalid('after', `must be an event sequence number, got "${String(value)}"`);
  return Number(value);
}

/** Register GET /v1/feed on the REST listener. */
// Any server and logger type: the REST listener is HTTPS with a pino logger.
export function registerEventFeed(app: FastifyInstance<any, any, any, any>, service: ApiService, ledger: Ledger, keepAliveMs = KEEP_ALIVE_MS): void {
  const open = new Set<() => void>();
  // A stream never goes idle: end them all when the server closes, or close() would wait forever.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  app.get('/v1/feed', async (req, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    // Everything that can be refused is refused before the stream starts, as a normal JSON error.
    const id = await service.identify(req.headers.authorization);
    authorize(id, 'zones.history');
    const zone = q.zone === undefined || q.zone === '' ? undefined : zoneName(String(q.zone), 'zone');
    const after = parseAfter(q.after) ?? ledger.state.seq;
    if (after > ledger.state.seq) throw invalid('after', `seq ${after} is after the newest event (${ledger.state.seq})`);
    const unknownKeys = Object.keys(q).filter((k) => k !== 'zone' && k !== 'after');
    if (unknownKeys.length > 0) throw invalid(unknownKeys[0], 'unknown query parameter (zone and after are accepted)');

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.write(sseMessage('hello', { username: id.username, account_type: id.accountType, roles: id.roles, may: capabilitiesOf(id), seq: ledger.state.seq, zone: zone ? zone.replace(/\.$/, '') || '.' : null }));
    req.log.info({ surface: 'rest', route: '/v1/feed', actor: id.username, zone: zone ?? '*', after }, 'feed opened');

    let ended = false;
    // Filled in below; `end` may run before (a failing catch-up read) and after.
    const live: { sub?: { unsubscribe(): void }; timer?: NodeJS.Timeout } = {};
    const end = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      open.delete(stop);
      clearInterval(live.timer);
      live.sub?.unsubscribe();
      if (err !== undefined && !res.writableEnded) {
        const { status, body } = httpError(err);
        res.write(sseMessage('error', { status, ...body }));
      }
      if (!res.writableEnded) res.end();
    };
    const stop = (): void => end();
    open.add(stop);
    res.on('close', stop);
    live.sub = ledger.log
      .follow(after)
      .pipe(
        map((batch) => (zone ? batch.filter((e) => e.zone === zone) : batch)),
        filter((batch) => batch.length > 0),
      )
      .subscribe({
        next: (batch) => {
          res.write(sseMessage('change', { events: batch.map(eventView), seq: ledger.state.seq }, batch[batch.length - 1].seq));
        },
        error: (err) => end(err),
      });
    if (ended) live.sub.unsubscribe();
    live.timer = setInterval(() => {
      service
        .identify(req.headers.authorization)
        .then((again) => {
          authorize(again, 'zones.history');
          res.write(': keep-alive\n\n');
        })
        .catch((err) => end(err));
    }, keepAliveMs);
    if (ended) clearInterval(live.timer);
  });
}
