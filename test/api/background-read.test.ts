/**
 * Right after a restart from the serving-index image, the big zones' read (Ledger.prepareRecordMaps)
 * waits for DNS to be idle; an API call or a DNS UPDATE that uses the projection first waits for it
 * (Ledger.recordMapsReady), which makes it go on at once, instead of reading the zone itself while
 * DNS waits. Public calls (health) do not wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFER_CHILDREN } from '../../src/projections/checkpoint.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { Ledger } from '../../src/ledger.ts';
import { afterPreparation } from '../../src/dns/update.ts';
import { pacedPause } from '../../src/server.ts';
import { startHarness, type Harness } from './harness.ts';

const ZONE = 'wide.test';

/** A database whose newest checkpoint holds a zone wide enough for its load to stop at the apex. */
function seedWideZone(path: string): void {
  const lines = [`$ORIGIN ${ZONE}.`, '$TTL 60', `@ SOA ns.${ZONE}. h.${ZONE}. 1 3600 600 86400 60`, '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < DEFER_CHILDREN + 50; i++) lines.push(`h${i} A 192.0.2.${i % 250}`);
  const seed = Ledger.open({ path });
  seed.execute(importCommand(ZONE, lines.join('\n') + '\n'), { actor: 'seed' });
  seed.checkpoint();
  seed.close();
}

/**
 * Starts prepareRecordMaps as the server does after a restore from the image while queries keep
 * coming (the activity counter moves at every pause): nothing is read until a caller waits for it.
 */
function prepareUnderLoad(h: Harness): { settled: () => boolean; done: Promise<{ zonesReadMs: number | undefined }> } {
  let queries = 0;
  // (The event loop counts as busy in every window, as under a saturating load.)
  const pause = pacedPause(() => ++queries, 5, () => h.ledger.recordMapsWanted, () => () => 1);
  let settled = false;
  const done = h.ledger.prepareRecordMaps(pause).finally(() => (settled = true));
  return { settled: () => settled, done };
}

const unread = (h: Harness): boolean => h.ledger.servingState.zones.get(`${ZONE}.`)!.tree.children.built === false;

for (const surface of ['rest', 'grpc'] as const) {
  test(`${surface}: a write right after a restart waits for the big zone's read in the background, then is applied; health does not wait`, async () => {
    const h = await startHarness({ seedDatabase: seedWideZone });
    try {
      assert.equal(h.ledger.recordMapsReady(), undefined, 'nothing to wait for before prepareRecordMaps starts');
      assert.ok(unread(h), 'the checkpoint load left the zone below its apex unread');
      const prep = prepareUnderLoad(h);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(prep.settled(), false, 'under load and wanted by nobody: nothing read');
      assert.ok(unread(h));
      assert.equal(h.ledger.recordMapsWanted, false);
      const health = surface === 'rest' ? (await h.rest('GET', '/v1/health')).status : (await h.grpc('AdminService', 'Health', {})).code;
      assert.equal(health, surface === 'rest' ? 200 : 0, 'a public call does not wait');
      assert.equal(prep.settled(), false);
      const created =
        surface === 'rest'
          ? (await h.rest('POST', `/v1/zones/${ZONE}/records`, { token: h.tokens.alice, body: { name: 'late', type: 'A', value: '198.51.100.7' } })).status
          : (await h.grpc('RecordService', 'CreateRecord', { zone: ZONE, name: 'late', type: 'A', value: '198.51.100.7' }, { token: h.tokens.alice })).code;
      assert.equal(created, surface === 'rest' ? 201 : 0);
      assert.equal(prep.settled(), true, 'the write waited for the read (it did not read the zone itself)');
      const { zonesReadMs } = await prep.done;
      assert.equal(typeof zonesReadMs, 'number');
      assert.equal(h.ledger.recordMapsReady(), undefined, 'nothing left to wait for');
      assert.equal(h.ledger.recordMapsWanted, false);
      const late = h.ledger.state.zones.get(`${ZONE}.`)!.tree.children.get('late');
      assert.deepEqual(late?.rrsets.get('A')?.records.map((r) => r.value), ['198.51.100.7']);
    } finally {
      await h.close();
    }
  });
}

test('DNS UPDATE as the server installs it (afterPreparation): right after a restart it runs once the big zone is read', async () => {
  const h = await startHarness({ seedDatabase: seedWideZone });
  try {
    let sawUnread: boolean | undefined;
    const update = afterPreparation(
      () => h.ledger.recordMapsReady(),
      (id: number) => {
        sawUnread = unread(h);
        return Buffer.from([id]);
      },
    );
    assert.deepEqual(update(1), Buffer.from([1]), 'nothing being prepared: at once');
    const prep = prepareUnderLoad(h);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(prep.settled(), false);
    const reply = update(2);
    assert.ok(reply instanceof Promise, 'it waits');
    assert.deepEqual(await reply, Buffer.from([2]));
    assert.equal(sawUnread, false, 'the handler ran after the read');
    assert.equal(prep.settled(), true);
  } finally {
    await h.close();
  }
});
