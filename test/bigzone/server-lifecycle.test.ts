/**
 * Big zones (issue 17), the real server (`bin/mcns server --config`): DNS answers the zone from the
 * moment its listeners bind (never REFUSED for a zone that exists), start-up phases show in
 * `mcns status` and /metrics, and SIGTERM after writes loses nothing: kill, restart, compare with a
 * full replay of the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { EventLog } from '../../src/events/log.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { EMPTY_STATE, evolveAll } from '../../src/projections/state.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { mcns, servingPorts, spawnMcns, type Spawned } from '../cli/run.ts';
import { ask } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { makeTestTls } from '../helpers/tls.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { waitFor } from '../helpers/wait.ts';

const ZONE = 'life.test';

function zoneFile(n: number): string {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 300', `@ SOA ns.${ZONE}. h.${ZONE}. 1 3600 600 86400 60`, '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < n; i++) lines.push(`h${i} A 10.0.${(i >> 8) & 255}.${i & 255}`);
  return lines.join('\n') + '\n';
}

test('the real server: answers from the moment it binds, reports its start-up phases, and loses nothing on SIGTERM', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir('mcns-life-');
  const tls = makeTestTls();
  const db = join(dir, 'mcns.db');
  const seed = Ledger.open({ path: db });
  seed.execute(importCommand(ZONE, zoneFile(2000)), { actor: 'import' });
  seed.close();
  const cfg = writeServerConfig(dir, { db, tls });
  let server: Spawned | undefined;
  try {
    server = spawnMcns(['server', '--config', cfg]);
    const first = await servingPorts(server);
    // Asked the moment the listeners are bound: the serving index may still be building, the
    // general path answers meanwhile, and never with REFUSED for a zone that exists.
    const early = await ask(first.dnsPort, { name: `h1999.${ZONE}.`, type: 1 });
    assert.equal(early.rcode, 'NOERROR');
    assert.deepEqual(early.answer.length, 1);
    const done = (await server.waitForLog('start-up done: serving index built', 120_000)) as Record<string, unknown>;
    for (const k of ['checkpointLoadMs', 'tailReplayMs', 'indexBuildMs']) assert.equal(typeof done[k], 'number', `${k} logged`);

    const status = await mcns(['status', '--addr', `https://127.0.0.1:${first.restPort}`, '--ca-cert', tls.caPath]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^ok\nchain head \d+:[0-9a-f]{64}\nstart-up: checkpoint load \d+\.\d s \((seq \d+|none: full replay)\), tail replay \d+\.\d s \(\d+ events\)(, DNS warm-up \d+\.\d s)?, index build \d+\.\d s\n$/);
    const metrics = await httpsText(first.restPort, '/metrics');
    for (const name of ['mcns_startup_checkpoint_load_seconds', 'mcns_startup_tail_replay_seconds', 'mcns_startup_index_build_seconds']) {
      assert.match(metrics, new RegExp(`^${name} \\d`, 'm'), `${name} in /metrics`);
    }
    assert.ok(sampleOrZero(metrics, /^mcns_startup_index_build_seconds /) >= 0, 'index build time known once built');

    // Writes while it runs (another process appends; the server follows the log), then SIGTERM.
    const writer = Ledger.open({ path: db });
    for (let i = 0; i < 40; i++) {
      writer.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `late${i}.${ZONE}`, type: 'A', value: `198.51.100.${i}` }] }, { actor: 'test' });
    }
    writer.close();
    await waitFor(async () => (await ask(first.dnsPort, { name: `late39.${ZONE}.`, type: 1 })).answer.length === 1, { what: 'the last write served', timeoutMs: 30_000 });
    const t0 = performance.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    const stopMs = performance.now() - t0;
    assert.equal(exit.code, 0, server.stderr());
    console.log(`SIGTERM to exit: ${Math.round(stopMs)} ms`);
    assert.ok(/checkpoint at exit/.test(server.stderr()), 'exit says what it did with the checkpoint');

    // Restart: everything written is there, and the state equals a full replay of the log.
    server = spawnMcns(['server', '--config', cfg]);
    const second = await servingPorts(server);
    for (const name of [`late0.${ZONE}.`, `late39.${ZONE}.`, `h0.${ZONE}.`]) {
      assert.equal((await ask(second.dnsPort, { name, type: 1 })).answer.length, 1, `${name} after the restart`);
    }
    const opened = (await server.waitForLog('ledger opened')) as { replayed: number };
    assert.ok(opened.replayed <= 1000, `a bounded tail replayed (${opened.replayed})`);
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
    server = undefined;
    const check = Ledger.open({ path: db, create: false });
    try {
      assert.equal(stateDigest(check.state), stateDigest(evolveAll(EMPTY_STATE, new EventLog(check.db).iterate())));
      assert.equal(check.zone(`${ZONE}.`)?.records.size, 2000 + 2 + 40);
    } finally {
      check.close();
    }
  } finally {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    cleanup();
  }
});
