/**
 * The serving-index image with the real server (`bin/mcns server --config`): SIGTERM writes it beside
 * the database, the next start of the same state restores it instead of building the index and
 * answers byte for byte as before; after a write by another process while the server was down, or
 * with a damaged file, the image is not used and the index is built (answers still right). A log
 * tail after the checkpoint of a big zone, with an image of the tail's end: DNS answers from the
 * image before the tail is applied, after the bind (Ledger deferTail).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { writeIndexImage } from '../../src/dns/index-image.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { WARM_UP_ANSWERS } from '../../src/dns/warm-up.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { mcns, servingPorts, spawnMcns, type Spawned } from '../cli/run.ts';
import { buildQuery, udpExchange } from './helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { makeTestTls } from '../helpers/tls.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { waitFor } from '../helpers/wait.ts';

const ZONE = 'img.test';

/** A zone of every answer kind: addresses, MX, TXT, CNAME chains (to data, to nothing, out of the zone), a wildcard, a delegation. */
function zoneFile(n: number): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 300', `@ SOA ns.${ZONE}. h.${ZONE}. 1 3600 600 86400 60`, '@ NS ns', 'ns A 192.0.2.1', '@ MX 10 mail', 'mail A 192.0.2.25', 'mail TXT "v=spf1 mx -all"'];
  lines.push('alias CNAME h1', 'alias2 CNAME alias', 'dangling CNAME missing', 'out CNAME www.elsewhere.example.', '*.wild A 192.0.2.9', 'cut NS ns.cut', 'ns.cut A 192.0.2.53');
  for (let i = 0; i < n; i++) lines.push(`h${i} A 10.0.${(i >> 8) & 255}.${i & 255}`, ...(i % 3 === 0 ? [`h${i} AAAA 2001:db8::${i.toString(16)}`] : []), ...(i % 7 === 0 ? [`h${i} TXT "t${i}"`] : []));
  return lines.join('\n') + '\n';
}

/** Questions of every kind (data, NODATA, NXDOMAIN, chains, wildcard, referral), including the writes made during the test. */
const QUESTIONS: Array<[string, number]> = [];
for (const name of ['h1', 'h3', 'h7', 'h1499', 'mail', '@', 'alias', 'alias2', 'dangling', 'out', 'x.wild', 'www.cut', 'cut', 'nope', 'late0', 'late19', 'offline']) {
  for (const type of [1, 28, 15, 16, 5, 6, 2, 99]) QUESTIONS.push([name === '@' ? `${ZONE}.` : `${name}.${ZONE}.`, type]);
}

/** The server's response bytes to every question (the same query id each time). */
async function answers(port: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const [name, type] of QUESTIONS) {
    out.push(await udpExchange(port, buildQuery({ name, type, id: 4242 })));
    out.push(await udpExchange(port, buildQuery({ name, type, id: 4243, edns: { size: 1232 } })));
  }
  return out;
}

async function stop(server: Spawned): Promise<string> {
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.stderr());
  return server.stderr();
}

/** A temp directory with TLS material and a database holding the 1,500-name zone (the ledger still open). */
function seededDatabase(prefix: string): { dir: string; cleanup: () => void; tls: ReturnType<typeof makeTestTls>; db: string; image: string; seed: Ledger } {
  const { dir, cleanup } = tempDir(prefix);
  const db = join(dir, 'mcns.db');
  const seed = Ledger.open({ path: db });
  seed.execute(importCommand(ZONE, zoneFile(1500)), { actor: 'import' });
  return { dir, cleanup, tls: makeTestTls(), db, image: `${db}.index`, seed };
}

/** A server a failed test left running is killed (one stopped by the test is left alone). */
async function killIfRunning(server: Spawned | undefined): Promise<void> {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

test('the real server: SIGTERM writes the serving-index image, a restart of the same state restores it and answers the same; another state or a damaged image builds', { timeout: 300_000 }, async () => {
  const { dir, cleanup, tls, db, image, seed } = seededDatabase('mcns-img-');
  seed.close();
  const cfg = writeServerConfig(dir, { db, tls });
  let server: Spawned | undefined;
  try {
    server = spawnMcns(['server', '--config', cfg]);
    const first = await servingPorts(server);
    await server.waitForLog('start-up done: serving index built', 120_000);
    // Writes by another process, followed by the server.
    const writer = Ledger.open({ path: db });
    for (let i = 0; i < 20; i++) writer.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `late${i}.${ZONE}`, type: 'A', value: `198.51.100.${i}` }] }, { actor: 'test' });
    writer.close();
    const late = buildQuery({ name: `late19.${ZONE}.`, type: 1 });
    await waitFor(async () => (await udpExchange(first.dnsPort, late)).readUInt16BE(6) === 1, { what: 'the last write served', timeoutMs: 30_000 });
    const before = await answers(first.dnsPort);
    assert.equal(existsSync(image), false, 'no image while the server runs');
    const log1 = await stop(server);
    assert.match(log1, /"msg":"serving index image written"/);
    assert.equal(existsSync(image), true, `${image} written at exit`);

    // The same state: restored, not built, and the same bytes for every question.
    server = spawnMcns(['server', '--config', cfg]);
    const second = await servingPorts(server);
    const restored = (await server.waitForLog('serving index restored from image')) as { entries: number; bytes: number; ms: number };
    assert.ok(restored.entries > 1500 && restored.bytes > 0, JSON.stringify(restored));
    const warmed = (await server.waitForLog('DNS warmed up')) as { questions: number; sent: number; answered: number };
    assert.ok(warmed.questions > 100 && warmed.sent >= warmed.questions && warmed.answered === warmed.sent, JSON.stringify(warmed));
    assert.ok(warmed.sent <= WARM_UP_ANSWERS, 'it ends at WARM_UP_ANSWERS');
    const done = (await server.waitForLog('start-up done: serving index built')) as Record<string, unknown>;
    assert.equal(typeof done.indexImageMs, 'number', 'the image phase among the start-up phases');
    assert.doesNotMatch(server.stderr(), /DNS serving index built/, 'no build');
    assert.deepEqual(await answers(second.dnsPort), before, 'the restored index answers byte for byte as the built one did');
    // The zone's 1,500 names under the apex: its checkpoint load stopped at the apex (DEFER_CHILDREN),
    // and the rest was read after DNS bound, in the background.
    const read = (await server.waitForLog('big zones read below the apex, and record indexes built')) as { zonesReadMs: unknown };
    assert.equal(typeof read.zonesReadMs, 'number');
    const metrics = await httpsText(second.restPort, '/metrics');
    assert.ok(sampleOrZero(metrics, /^mcns_startup_index_image_seconds /) >= 0, 'image phase in /metrics');
    assert.match(metrics, /^mcns_startup_zones_read_seconds \d/m, 'the deferred read in /metrics');
    // The index complete before the bind: the warm-up ran ([dns] warm_up).
    assert.ok(sampleOrZero(metrics, /^mcns_startup_dns_warm_up_seconds /) > 0, 'warm-up phase in /metrics');
    const health = JSON.parse(await httpsText(second.restPort, '/v1/health')) as { startup: { index_image_ms: unknown; dns_warm_up_ms: unknown; zones_read_ms: unknown } };
    assert.equal(typeof health.startup.index_image_ms, 'number', 'image phase in GET /v1/health');
    assert.ok(typeof health.startup.dns_warm_up_ms === 'number' && health.startup.dns_warm_up_ms > 0, 'warm-up phase in GET /v1/health');
    assert.equal(typeof health.startup.zones_read_ms, 'number', 'the deferred read in GET /v1/health');
    const status = await mcns(['status', '--addr', `https://127.0.0.1:${second.restPort}`, '--ca-cert', tls.caPath]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /\nstart-up: checkpoint load \d+\.\d s \(seq \d+\), tail replay \d+\.\d s \(\d+ events\), index from image \d+\.\d s, DNS warm-up \d+\.\d s, index build \d+\.\d s, big zones read \d+\.\d s\n$/);
    // Nothing written since: the file already holds this index, exit keeps it.
    const log2 = await stop(server);
    assert.match(log2, /"msg":"serving index image kept"/);
    assert.doesNotMatch(log2, /"msg":"serving index image written"/);

    // Another process writes while the server is down: the image is of an older state; not used.
    const offline = Ledger.open({ path: db });
    offline.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `offline.${ZONE}`, type: 'A', value: '203.0.113.1' }] }, { actor: 'test' });
    offline.close();
    server = spawnMcns(['server', '--config', cfg]);
    const third = await servingPorts(server);
    const notUsed = (await server.waitForLog('serving index image not used: building the index')) as { reason: string };
    assert.match(notUsed.reason, /taken at seq \d+, the log is at seq \d+/, 'not read past its header: the log moved on');
    await server.waitForLog('start-up done: serving index built', 120_000);
    const withOffline = await answers(third.dnsPort);
    const offlineA = 2 * QUESTIONS.findIndex(([n, t]) => n === `offline.${ZONE}.` && t === 1);
    assert.equal(withOffline[offlineA].readUInt16BE(6), 1, 'the write made while the server was down is served');
    assert.match(await stop(server), /"msg":"serving index image written"/, 'the image of the new state');

    // A damaged image (one byte flipped in the middle): a warning, a build, right answers.
    const bytes = readFileSync(image);
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(image, bytes);
    server = spawnMcns(['server', '--config', cfg]);
    const fourth = await servingPorts(server);
    const damaged = (await server.waitForLog('serving index image not used (damaged or unreadable): building the index')) as { reason: string };
    assert.match(damaged.reason, /checksum/);
    await server.waitForLog('start-up done: serving index built', 120_000);
    assert.deepEqual(await answers(fourth.dnsPort), withOffline, 'built again: the same answers');
    await stop(server);
    server = undefined;
  } finally {
    await killIfRunning(server);
    cleanup();
  }
});

test('the real server: a tail after a big zone\'s checkpoint, with the image of its end state, is applied after DNS binds; DNS answers that state from the first query', { timeout: 300_000 }, async () => {
  const { dir, cleanup, tls, db, image, seed } = seededDatabase('mcns-img-tail-');
  seed.checkpoint();
  // The tail: new names, a removed one, a changed CNAME, and the SOA's negative TTL (the image's templates).
  for (let i = 0; i < 20; i++) seed.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `late${i}.${ZONE}`, type: 'A', value: `198.51.100.${i}` }] }, { actor: 'test' });
  const z = seed.zone(`${ZONE}.`)!;
  const idOf = (name: string, type: string): string => [...z.records.values()].find((r) => r.name === name && r.type === type)!.id;
  seed.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'delete', id: idOf(`h7.${ZONE}.`, 'A') }, { op: 'delete', id: idOf(`alias.${ZONE}.`, 'CNAME') }, { op: 'create', name: `alias.${ZONE}`, type: 'CNAME', value: `h3.${ZONE}.` }] }, { actor: 'test' });
  seed.execute({ kind: 'updateZone', zone: ZONE, soa: { minimum: 30 } }, { actor: 'test' });
  const end = seed.state;
  const built = new ServingIndex();
  built.sync(end);
  while (!built.isCurrent(end) || built.filling) await new Promise((r) => setImmediate(r));
  assert.ok(writeIndexImage(image, built, end, seed.log.hashAt(end.seq)).written);
  seed.close();
  // The reference: the same database without the image (a copy), which replays the tail and builds.
  const refDb = join(dir, 'ref.db');
  copyFileSync(db, refDb);
  mkdirSync(join(dir, 'ref'));
  const refCfg = writeServerConfig(join(dir, 'ref'), { db: refDb, tls });
  const cfg = writeServerConfig(dir, { db, tls });
  let server: Spawned | undefined;
  try {
    server = spawnMcns(['server', '--config', refCfg]);
    const ref = await servingPorts(server);
    const refOpened = (await server.waitForLog('ledger opened')) as { tailDeferred?: boolean; replayed: number };
    assert.equal(refOpened.tailDeferred, undefined, 'without an image the tail is replayed before the bind');
    const tail = refOpened.replayed;
    assert.ok(tail >= 22, `a tail of ${tail} events`);
    await server.waitForLog('start-up done: serving index built', 120_000);
    const expected = await answers(ref.dnsPort);
    await stop(server);

    server = spawnMcns(['server', '--config', cfg]);
    const opened = (await server.waitForLog('ledger opened')) as { tailDeferred?: boolean; replayed: number; phases: { tailReplayMs: number } };
    assert.equal(opened.tailDeferred, true, 'the tail waits');
    assert.equal(opened.replayed, tail);
    assert.equal(opened.phases.tailReplayMs, 0);
    const ports = await servingPorts(server);
    await server.waitForLog('serving index restored from image');
    const got = await answers(ports.dnsPort);
    assert.deepEqual(got, expected, 'from the image, before or after the tail is applied: the tail\'s end state, byte for byte');
    const applied = (await server.waitForLog(/^log tail applied/, 120_000)) as { events: number; ms: number };
    assert.equal(applied.events, tail);
    await server.waitForLog('big zones read below the apex, and record indexes built', 120_000);
    assert.deepEqual(await answers(ports.dnsPort), expected, 'and after');
    const health = JSON.parse(await httpsText(ports.restPort, '/v1/health')) as { seq: number; startup: { tail_deferred: unknown; tail_pending: unknown } };
    assert.equal(health.seq, end.seq);
    assert.equal(health.startup.tail_deferred, true);
    assert.equal(health.startup.tail_pending, false);
    assert.match(await httpsText(ports.restPort, '/metrics'), /^mcns_startup_tail_pending 0$/m);
    const status = await mcns(['status', '--addr', `https://127.0.0.1:${ports.restPort}`, '--ca-cert', tls.caPath]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`tail replay \\d+\\.\\d s \\(${tail} events, after DNS bound\\), index from image`));
    await stop(server);
    server = undefined;
  } finally {
    await killIfRunning(server);
    cleanup();
  }
});
