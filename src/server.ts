/**
 * The composition root of `mcns server`: open the ledger, seed it in dev, start DNS, REST and gRPC,
 * log as pino JSON on stderr, and shut down cleanly on SIGTERM/SIGINT (stop accepting, drain in-flight
 * work within [server] shutdown_timeout, checkpoint, close the database).
 */
import { DnssecDriver } from './dnssec/driver.ts';
import { KeyStore } from './dnssec/keystore.ts';
import { ZoneSigners } from './dnssec/signer.ts';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { McnsConfig } from './config.ts';
import { prepareDevDir, seedIfEmpty, type DevMaterial } from './config/dev.ts';
import { McnsError } from './errors.ts';
import { Ledger } from './ledger.ts';
import type { LedgerState } from './projections/state.ts';
import { ChainError } from './events/hash.ts';
import { EventLog } from './events/log.ts';
import { openDatabase } from './events/schema.ts';
import { keyChainFromFile } from './events/chain-key.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startDns } from './dns/server.ts';
import { AnswerCache } from './dns/cache.ts';
import { indexImagePath, loadIndexImage } from './dns/index-image.ts';
import { createTransferHandlers } from './dns/transfer/index.ts';
import { CatalogMaintainer } from './catalog/maintainer.ts';
import { bumpSerialsAfterRestore } from './dns/transfer/restored-serials.ts';
import { afterPreparation, createUpdateHandler, OPCODE_UPDATE } from './dns/update.ts';
import { createDevAuth, createMciasAuth } from './api/auth.ts';
import { AuthFailureThrottle, AuthGate } from './api/auth-gate.ts';
import { startMetricsListener } from './api/metrics-listener.ts';

/** What `startServer` runs: the ledger and the three listeners, with the addresses they bound. */
export interface RunningServer {
  ledger: Ledger;
  logger: Logger;
  metrics: Metrics;
  dev?: DevMaterial;
  dns: Array<{ udp: string; tcp: string }>;
  rest: string;
  grpcPort: number;
  /** The `[metrics] listen_addr` listener's bound address, when it runs (else /metrics is on `rest`). */
  metricsAddr?: string;
  /** Stop accepting, drain within the shutdown timeout, checkpoint, close the database. */
  stop(reason: string): Promise<{ drained: boolean }>;
}

/** How the server starts: dev mode, and where the logs go (stderr by default). */
export interface ServerOptions {
  dev?: boolean;
  logger?: Logger;
  /** Called with the dev token once, the first time it is made (the CLI prints it). */
  onDevToken?: (material: DevMaterial) => void;
}

/** A pino JSON logger on stderr at the configured level. */
export function createLogger(config: McnsConfig): Logger {
  return pino({ level: config.log.level, base: { service: 'mcns' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}

/** How often the server looks for events other processes appended (ms). */
const FOLLOW_POLL_MS = 500;

/**
 * Open the database, turning any failure into the one-line corrupt-database message operators act on.
 * Every checkpoint written is logged with the chain head it was taken at (seq, hash) and its digest,
 * so an operator holds a head to check the log against (`mcns verify`); a checkpoint refused because
 * it does not match the log or its digest is logged as an error.
 */
function openLedger(config: McnsConfig, logger: Logger): Ledger {
  const path = config.database.path;
  try {
    return Ledger.open({
      path,
      checkpointEvery: config.database.checkpoint_every,
      checkpointInBackground: true,
      // A short tail after a checkpoint that deferred a big zone is applied after DNS binds, while
      // the serving index restored from the image of the tail's end state answers (startServer
      // applies it at once when there is no such image, or DNSSEC keys).
      deferTail: true,
      // Other processes append too (`mcns zone import --db` on the live file, a second server):
      // look for their events twice a second, so DNS serves them within a second without waiting
      // for an unrelated API write to make the ledger read the log.
      pollMs: FOLLOW_POLL_MS,
      onCheckpoint: ({ seq, hash, digest, background }) => logger.info({ seq, hash, digest, background }, 'checkpoint written'),
      onCheckpointRejected: (rejected, during) =>
        logger.error({ rejected, during }, 'checkpoint rejected: it does not match the log or its digest (edited or corrupted); an older checkpoint or a replay of the log was used instead'),
    });
  } catch (err) {
    // A tail that does not hash to itself was changed in the file: refuse to serve it (src/events/log.ts follow).
    if (err instanceof ChainError) {
      logger.error({ db: path, seq: err.seq, reason: err.reason }, 'event log hash chain broken: refusing to start');
      throw err;
    }
    const msg = (err as Error).message.split('\n')[0];
    if (err instanceof McnsError && msg.includes('integrity_check')) throw err;
    throw new McnsError(
      'unavailable',
      `database ${path} cannot be used (${msg}); check it with sqlite3 ${path} "PRAGMA integrity_check;" and, if it is corrupt, restore the newest snapshot (RUNBOOK: Restore from Snapshot)`,
      'database.path',
    );
  }
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new McnsError('invalid', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, key);
  }
}

/** Start everything the config describes; resolves once every listener is bound. */
export async function startServer(config: McnsConfig, opts: ServerOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config);
  const metrics = createMetrics();
  let dev: DevMaterial | undefined;
  if (opts.dev ?? config.dev) {
    dev = prepareDevDir(dirname(config.database.path), config.server.tls_cert, config.server.tls_key);
    if (dev.newToken) opts.onDevToken?.(dev);
  }
  const tls = { cert: readPem(config.server.tls_cert, 'server.tls_cert'), key: readPem(config.server.tls_key, 'server.tls_key') };
  // The API's packages (fastify, gRPC, protobufjs: ~0.3 s) load first, and REST and gRPC start
  // before DNS binds: whatever is left after the bind runs on the core that answers queries, and a
  // big zone must answer at full rate from its first second (issue 17). The projection's large maps
  // are the only start-up work left for then, built in paced slices (prepareRecordMaps).
  const { startRest, startGrpc } = await import('./api/index.ts');
  // The serving-index image saved at the last exit is read before the ledger opens (while the heap
  // is small, its arrays cost V8 no full GC); it is used only if it is of the state opened (startDns).
  const indexImage = loadIndexImage(indexImagePath(config.database.path), logHead(config.database.path));
  // The DNS answer cache's buffers likewise (startDns: allocated after the load they start a full GC).
  const answerCache = new AnswerCache();
  const ledger = openLedger(config, logger);
  // Without an image the serving index is built as DNS starts (startDns, before the bind), and
  // the big zones' nodes below the apex are left unread: the index's first pass scans their
  // checkpoint bytes instead (ServingIndex scanBelow), and the read follows in the background
  // after the bind (prepareRecordMaps), before the second pass.
  if (!('table' in indexImage)) {
    // Nothing serves the tail's end state without the image: applied now, before the bind, as the
    // index build would (a tail that writes into a big zone reads it now).
    ledger.settle(true);
  }
  const keyStore = new KeyStore(ledger.db);
  // Signed zones are signed from the projection itself (DO answers come from the signer, not the
  // index): a deferred tail is applied now, before the bind.
  if (keyStore.count() > 0) ledger.settle(true);
  // The state the image is bound to: writes before DNS starts (seeding, catalog, DNSSEC) are diffed after.
  let opened: LedgerState | undefined = ledger.servingState;
  // A deferred tail is applied in the background after the big zones are read (prepareRecordMaps),
  // or at once by the first write, API read, transfer or general-path query that needs the projection.
  ledger.whenSettled((standIn, settled) => {
    // Applied before DNS starts (a write at start-up): the image is bound to the state itself.
    if (opened === standIn) opened = settled;
    if (ledger.startup.tailDeferred) logger.info({ events: ledger.startup.replayed, ms: ledger.startup.phases.tailReplayMs }, 'log tail applied (DNS answered its end state from the serving-index image meanwhile)');
  });
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  try {
    logger.info({ db: config.database.path, seq: ledger.servingState.seq, ...ledger.startup }, 'ledger opened');
    if (ledger.startup.skipped && ledger.startup.checkpointSeq === undefined && ledger.startup.replayed > 0) {
      logger.warn({ skipped: ledger.startup.skipped, replayed: ledger.startup.replayed, ms: ledger.startup.phases.tailReplayMs }, 'no usable checkpoint (an older format or none): the whole log was replayed once; a new checkpoint is written in the background');
    }
    ledger.onCheckpointFailed = (err) => logger.error({ err: err.message }, 'background checkpoint failed; retried after more events');
    // Keyed chain: the tail's MACs must verify before anything is served (src/events/chain-key.ts).
    if (config.database.chain_key_file) keyChainFromFile(ledger.log, config.database.chain_key_file, ledger.startup.checkpointSeq ?? 0, logger);
    observeLedger(ledger, metrics, closers);
    if (dev) {
      const seeded = seedIfEmpty(ledger);
      if (seeded.length > 0) logger.info({ zones: seeded }, 'seeded the example zones');
    }
    const auth = dev
      ? createDevAuth({ token: dev.token })
      : createMciasAuth({
          serverUrl: config.mcias.server_url,
          caCert: config.mcias.ca_cert ? readPem(config.mcias.ca_cert, 'mcias.ca_cert') : undefined,
          serviceName: config.mcias.service_name,
          tags: config.mcias.tags,
          timeoutMs: config.mcias.timeout,
          negativeCacheMs: config.mcias.negative_cache,
          onCall: (call, status) => metrics.mciasRequests.inc({ call, status: String(status) }),
        });
    const dnsLogger = logger.child({ component: 'dns' });
    // DNSSEC: signed zones follow every new state; refreshes and rollover steps are system batches (src/dnssec).
    const signers = new ZoneSigners({
      keys: keyStore,
      policy: { validity: config.dnssec.signature_validity / 1000, refreshBefore: config.dnssec.signature_refresh / 1000, backdate: 3600 },
      clock: () => Math.floor(Date.now() / 1000),
      onError: (zone, err) => logger.error({ zone, err: err.message }, 'DNSSEC: zone cannot be signed; it is served unsigned'),
    });
    const signerSub = ledger.state$.subscribe((state) => signers.update(state));
    const dnssecDriver = new DnssecDriver({
      ledger,
      signers,
      clock: () => Math.floor(Date.now() / 1000),
      logger: logger.child({ component: 'dnssec' }),
      timings: {
        propagationDelay: config.dnssec.propagation_delay / 1000,
        parentDsTtl: config.dnssec.parent_ds_ttl / 1000,
        parentRegistrationDelay: config.dnssec.parent_registration_delay / 1000,
      },
    });
    dnssecDriver.start();
    closers.push({ name: 'dnssec', close: async () => { dnssecDriver.stop(); signerSub.unsubscribe(); } });
    // Zone transfers, NOTIFY in and out, and TSIG, from [transfer] and [tsig.keys].
    const xfr = createTransferHandlers({ ledger, config: { ...config.transfer, keys: config.tsig.keys }, logger: dnsLogger, metrics, notify: { manualStart: true }, signers });
    closers.push({ name: 'notify', close: async () => xfr.close() });
    // Started from a snapshot copied over the database: serials move past what was served before (src/dns/transfer/restored-serials.ts).
    const restored = await bumpSerialsAfterRestore(ledger, (zone) => xfr.notifier.targetsOf(zone));
    if (restored.mark) logger.warn({ snapshot: restored.mark, zones: restored.bumped.length, bumped: restored.bumped.slice(0, 20) }, 'started from a restored snapshot: every zone serial moved past what was served before');
    // [catalog] zone: an RFC 9432 catalog of every zone, kept current by batches of its own (src/catalog).
    if (config.catalog.zone) {
      const catalog = new CatalogMaintainer(ledger, config.catalog.zone, logger.child({ component: 'catalog' }));
      catalog.start();
      closers.push({ name: 'catalog', close: async () => catalog.stop() });
    }
    // DNS UPDATE (RFC 2136) from [update], verified with the same TSIG keyring as transfers.
    // An UPDATE right after a restart waits for the big zones' background read, as an API write does.
    const update = afterPreparation(
      () => ledger.recordMapsReady(),
      createUpdateHandler({ ledger, keyring: xfr.keyring, config: config.update, logger: dnsLogger, onOutcome: (outcome) => metrics.dnsUpdates.inc({ outcome }) }),
    );
    const apiLogger = logger.child({ component: 'api' });
    // One gate for both surfaces, so failed authentications on REST and gRPC share one budget.
    const throttle = new AuthFailureThrottle({ burst: config.server.auth_failure_burst, perMinute: config.server.auth_failures_per_minute });
    const authGate = new AuthGate({ auth, throttle, metrics, logger: apiLogger });
    const ownMetricsListener = config.metrics.listen_addr !== '';
    const apiOpts = { ledger, tls, auth, authGate, logger: apiLogger, metrics, backupDir: config.database.backup_dir, serveMetrics: !ownMetricsListener, catalogZone: config.catalog.zone };
    let metricsAddr: string | undefined;
    if (ownMetricsListener) {
      const m = await startMetricsListener({ listen: config.metrics.listen_addr, metrics, tls: config.metrics.tls ? tls : undefined, logger: apiLogger });
      closers.push({ name: 'metrics', close: () => m.close() });
      metricsAddr = `${m.address.address}:${m.address.port}`;
    }
    const rest = await startRest({ ...apiOpts, listen: config.server.listen_addr, bodyLimit: config.server.max_body });
    closers.push({ name: 'rest', close: () => rest.close() });
    const grpc = await startGrpc({ ...apiOpts, listen: config.server.grpc_addr });
    closers.push({ name: 'grpc', close: () => grpc.close() });
    const dns = await startDns({
      ledger,
      listen: config.dns.listen_addr,
      upstreams: config.dns.upstreams,
      logger: dnsLogger,
      metrics,
      handlers: { ...xfr.handlers, [OPCODE_UPDATE]: update },
      queryLogSample: config.dns.query_log ? config.dns.query_log_sample : 0,
      transfer: xfr.transfer,
      maxTcpConnections: config.dns.tcp_max_clients,
      maxTcpPerClient: config.dns.tcp_max_per_client,
      tcpIdleMs: config.dns.tcp_idle_timeout,
      tcpMessageMs: config.dns.tcp_message_timeout,
      warmUpMs: config.dns.warm_up,
      rrl: { responsesPerSecond: config.dns.rrl.responses_per_second, slip: config.dns.rrl.slip, tableSize: config.dns.rrl.table_size },
      signers,
      answerCache,
      // The serving index saved at the last exit, used when it is of the state just opened (src/dns/index-image.ts).
      indexImage: { path: indexImagePath(config.database.path), hashAt: (seq) => ledger.log.hashAt(seq), loaded: indexImage, opened },
    });
    opened = undefined;
    if (dns.indexImage?.restored) ledger.startup.phases.indexImageMs = Math.round(dns.indexImage.ms);
    if (dns.warmUp && dns.warmUp.problem === undefined) ledger.startup.phases.warmUpMs = Math.round(dns.warmUp.ms);
    closers.push({ name: 'dns', close: () => dns.close() });
    // NOTIFY only once DNS listens: a secondary told earlier finds no primary and backs off for minutes.
    xfr.startNotify();
    // The third start-up phase: the serving index is built in slices after the listeners bind
    // (the general path answers meanwhile); its time is reported with the ledger's phases.
    const indexStarted = performance.now();
    void dns.indexed().then(() => {
      const ms = Math.round(performance.now() - indexStarted);
      ledger.startup.phases.indexBuildMs = ms;
      logger.info({ ...ledger.startup.phases, checkpointSeq: ledger.startup.checkpointSeq, replayed: ledger.startup.replayed }, 'start-up done: serving index built');
      // Then what the checkpoint load left for later (the big zones below the apex, records by id,
      // the largest children maps), about a millisecond at a time, so the first write does not
      // stall DNS for the seconds a 1M-name zone's take. It starts RECORD_MAPS_HOLD_MS after the
      // start (see there); then back to back while no query comes in, a
      // slice every 100 ms while queries come in but leave the event loop mostly idle, and none
      // while they keep it busy, until a caller needs it: a write or API read (recordMapsReady,
      // then a slice a turn), or a general-path question in the zone (zone-read.ts reads it then,
      // in 4 ms slices). Even at 1 ms every 100 ms (~1% of the CPU, plus the GC of the million
      // long-lived nodes it makes) a saturated 1M zone answered at 0.85-0.91 of the 10k zone's rate
      // for the minutes the read took, and at 0.89-0.97 without it, from the image or not
      // (bench/bigzone/first-second.ts --together). Without the image the index's second pass
      // waits for the read too: its types (MX, TXT, delegations) are the general path's until then.
      const t0 = performance.now();
      ledger
        .prepareRecordMaps(pacedPause(() => dns.received(), RECORD_MAPS_BUSY_PAUSE_MS, () => ledger.recordMapsWanted), RECORD_MAPS_HOLD_MS)
        .then(({ zonesReadMs, heldMs }) => {
          const ms = Math.round(performance.now() - t0 - heldMs);
          if (zonesReadMs === undefined) return logger.debug({ ms }, 'record indexes built');
          ledger.startup.phases.zonesReadMs = zonesReadMs;
          logger.info({ ms, zonesReadMs }, 'big zones read below the apex, and record indexes built');
        })
        .catch((err: Error) => logger.error({ err: err.message }, 'reading the big zones or building the record indexes failed; a write or read that needs them meets the same error'));
    });
    const restAddr = `${rest.address.address}:${rest.address.port}`;
    logger.info({ dns: dns.addresses.map((a) => `${a.udp.address}:${a.udp.port}`), rest: restAddr, grpc: grpc.port, dev: Boolean(dev) }, 'mcns serving');

    let stopping: Promise<{ drained: boolean }> | undefined;
    const stop = (reason: string): Promise<{ drained: boolean }> => {
      stopping ??= (async () => {
        logger.info({ reason, timeoutMs: config.server.shutdown_timeout }, 'shutting down: draining in-flight work');
        const drained = await drainAll(closers, config.server.shutdown_timeout, logger);
        try {
          // A written checkpoint is logged by onCheckpoint (with the chain head). A large zone's
          // checkpoint is kept current in the background, so exit writes one only when that is cheap
          // or a running one just needs finishing (Ledger.checkpointOnExit).
          const t0 = performance.now();
          const cp = await ledger.checkpointOnExit();
          const ms = Math.round(performance.now() - t0);
          if (ledger.servingState.seq === 0) logger.info('empty log: no checkpoint written');
          else if (cp.action === 'left-tail') logger.info({ checkpointSeq: cp.seq, tail: cp.tail, ms }, 'checkpoint at exit: the background checkpoint is current to within a small tail of events, which are in the log and replay at the next start');
          else logger.info({ checkpointSeq: cp.seq, action: cp.action, ms }, 'checkpoint at exit');
          // The serving index, so the next start of this state need not build it again.
          try {
            const image = dns.saveIndexImage();
            if (image?.written) logger.info({ seq: ledger.servingState.seq, bytes: image.bytes, ms: Math.round(image.ms) }, 'serving index image written');
            else if (image?.kept) logger.info({ seq: ledger.servingState.seq, reason: image.reason }, 'serving index image kept');
            else if (image) logger.info({ reason: image.reason }, 'serving index image not written; the next start builds the index');
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'serving index image could not be written; the next start builds the index');
          }
        } finally {
          ledger.close();
        }
        logger.info({ drained }, 'database closed; bye');
        return { drained };
      })();
      return stopping;
    };
    const dnsAddrs = dns.addresses.map((a) => ({ udp: `${a.udp.address}:${a.udp.port}`, tcp: `${a.tcp.address}:${a.tcp.port}` }));
    return { ledger, logger, metrics, dev, dns: dnsAddrs, rest: restAddr, grpcPort: grpc.port, metricsAddr, stop };
  } catch (err) {
    // A listener that failed to bind must not leave the others (or the database) open.
    await drainAll(closers, 2000, logger);
    ledger.close();
    throw err;
  }
}

/**
 * The head of the log at `path` (its newest event's seq and hash), read without opening the ledger:
 * the state the ledger will open at (it replays to the head). Undefined when it cannot be read (no
 * database yet, or one the ledger will refuse with its own message).
 */
function logHead(path: string): { seq: number; hash: string } | undefined {
  try {
    const db = openDatabase(path, { readonly: true, create: false });
    try {
      return new EventLog(db).head();
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Pause between two slices of the unbuilt maps' build while DNS is answering queries. */
const RECORD_MAPS_BUSY_PAUSE_MS = 100;
/**
 * How long after the start the unbuilt maps' build waits before its first slice (a write or API read
 * that needs them starts it at once). Started right away, its slices ran back to back in the moment
 * between the bind and the first queries, long enough for V8 to optimize the read's functions on the
 * server's core during the first second of serving: 21 optimizations (77 ms of compiling) in that
 * second on the 1M zone, against 8 (40 ms) with the build held back (--trace-opt, 02:2x); the first
 * second then answered 0.93-0.96 of the process's own later rate (mean 0.94) against 0.87-0.94
 * (mean 0.915), 5 restarts each, alternated (bench/RESULTS.md).
 */
const RECORD_MAPS_HOLD_MS = 2000;

/** Event-loop utilization (the share of a window not spent waiting for I/O) over which pacedPause waits. */
const BUSY_LOOP = 0.5;

/** Starts a window of the event loop's utilization; the function returned gives it so far (0..1). */
export function loopMeter(): () => number {
  const start = performance.eventLoopUtilization();
  return () => performance.eventLoopUtilization(start).utilization;
}

/**
 * A pause between slices of background work. While `activity` (a counter of queries) has not moved
 * since the last pause, or once `wanted` (someone waits for the work): the next turn of the event
 * loop (setImmediate: I/O that arrives meanwhile is served first). Else windows of `busyMs`, until
 * one in which the loop was busy less than half the time (`meter`), or that saw no query: a slice
 * every `busyMs` under a light load, none while queries keep the loop busy (nothing needs the work
 * yet, and a big zone must answer at its full rate).
 */
export function pacedPause(activity: () => number, busyMs: number, wanted: () => boolean = () => false, meter: () => () => number = loopMeter): () => Promise<void> {
  let seen = activity();
  const busy = (): boolean => {
    const now = activity();
    const moved = now !== seen;
    seen = now;
    return moved;
  };
  return () =>
    new Promise((resolve) => {
      const check = (): void => {
        if (wanted() || !busy()) setImmediate(resolve);
        else {
          const utilization = meter();
          setTimeout(() => (utilization() < BUSY_LOOP && !wanted() ? resolve() : check()), busyMs);
        }
      };
      check();
    });
}

/** Ledger metrics: events appended (as the projection applies them) and projection lag (scraped). */
function observeLedger(ledger: Ledger, metrics: Metrics, closers: Array<{ name: string; close: () => Promise<void> }>): void {
  let seen = ledger.servingState.seq;
  const sub = ledger.state$.subscribe((state) => {
    if (state.seq > seen) metrics.eventsAppended.inc({}, state.seq - seen);
    seen = state.seq;
  });
  closers.push({ name: 'ledger-metrics', close: async () => sub.unsubscribe() });
  const phases = ledger.startup.phases;
  metrics.registry.gauge('mcns_startup_checkpoint_load_seconds', 'Start-up: time to load the newest checkpoint', () => phases.checkpointLoadMs / 1000);
  metrics.registry.gauge('mcns_startup_tail_replay_seconds', 'Start-up: time to replay the log after the checkpoint', () => phases.tailReplayMs / 1000);
  metrics.registry.gauge('mcns_startup_tail_events', 'Start-up: events replayed after the checkpoint', () => ledger.startup.replayed);
  metrics.registry.gauge('mcns_startup_index_image_seconds', 'Start-up: time to restore the DNS serving index from the image saved at the last exit (-1: built instead)', () => (phases.indexImageMs ?? -1) / 1000);
  metrics.registry.gauge('mcns_startup_dns_warm_up_seconds', 'Start-up: time DNS answered questions of its own before the listeners bound ([dns] warm_up; -1: none)', () => (phases.warmUpMs ?? -1) / 1000);
  metrics.registry.gauge('mcns_startup_zones_read_seconds', 'Start-up: time to read the big zones below the apex, which the checkpoint load leaves for later (-1 while reading, or none)', () => (phases.zonesReadMs ?? -1) / 1000);
  metrics.registry.gauge('mcns_startup_index_build_seconds', 'Start-up: time to build the DNS serving index after the listeners bound (-1 while building)', () => (phases.indexBuildMs ?? -1) / 1000);
  metrics.registry.gauge('mcns_checkpoint_tail_events', 'Events applied since the newest checkpoint (what the next start would replay)', () => ledger.tail);
  // (A scrape must not apply a deferred tail: the served seq, and the serials from the zone heads the stand-in carries.)
  metrics.registry.gauge('mcns_startup_tail_pending', 'Start-up: 1 while the log tail after the checkpoint waits to be applied (DNS answers its end state from the serving-index image meanwhile)', () => (ledger.tailPending ? 1 : 0));
  metrics.registry.gauge('mcns_projection_seq', 'Sequence number of the newest event the projection DNS answers from has applied', () => ledger.servingState.seq);
  metrics.registry.labelledGauge('mcns_zone_serial', 'SOA serial each zone is served with', 'zone', () => servedSerials(ledger));
  metrics.registry.gauge('mcns_projection_lag_events', 'Events in the log that the projection DNS answers from has not applied yet', () =>
    ledger.db.open ? ledger.log.head().seq - ledger.servingState.seq : 0,
  );
}

/** Each zone's served serial: the zone's own, or while the tail waits, its head's (the stand-in's zones are the checkpoint's). */
function servedSerials(ledger: Ledger): Array<readonly [string, number]> {
  const s = ledger.servingState;
  const pending = ledger.tailPending;
  return [...s.zones.values()].map((z) => [z.name, pending ? (s.heads.get(z.name)?.serial ?? z.serial) : z.serial] as const);
}

/** Close every listener concurrently; resolves false when the timeout ran out first. */
async function drainAll(closers: Array<{ name: string; close: () => Promise<void> }>, timeoutMs: number, logger: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.allSettled(
    closers.map(async (c) => {
      try {
        await c.close();
      } catch (err) {
        logger.warn({ component: c.name, err: (err as Error).message }, 'error while closing');
      }
    }),
  ).then(() => true);
  const timeout = new Promise<boolean>((res) => {
    timer = setTimeout(() => res(false), timeoutMs);
  });
  const drained = await Promise.race([all, timeout]);
  clearTimeout(timer);
  if (!drained) logger.warn({ timeoutMs }, 'shutdown timeout: abandoning work still in flight');
  return drained;
}

/**
 * Run until SIGTERM/SIGINT, then stop cleanly; resolves with the process exit code (0 after a clean
 * stop). A second signal while draining exits at once.
 */
export async function runServer(config: McnsConfig, opts: ServerOptions = {}): Promise<number> {
  // Handlers go in before anything starts: a signal that arrives while (or just after) the
  // listeners come up must stop the server cleanly, not kill it with the default action.
  let server: RunningServer | undefined;
  let signalled: NodeJS.Signals | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((res) => {
    resolveExit = res;
  });
  const stop = (s: RunningServer, sig: NodeJS.Signals): void => {
    s.stop(sig).then(
      () => resolveExit(0),
      (err: Error) => {
        s.logger.error({ err: err.message }, 'shutdown failed');
        resolveExit(1);
      },
    );
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      server?.logger.warn({ signal: sig }, 'second signal: exiting without draining');
      process.exit(1);
    }
    signalled = sig;
    if (server) stop(server, sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await startServer(config, opts);
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    throw err;
  }
  if (signalled) stop(server, signalled);
  return exited;
}
