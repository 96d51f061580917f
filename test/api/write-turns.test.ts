/**
 * API writes run one per turn of the event loop (src/api/write-turns.ts), so a burst of writes from
 * several keep-alive clients leaves the turns between them to the sockets (DNS reads, TCP accepts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteTurns } from '../../src/api/write-turns.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

/** A counter that moves once per turn of the event loop (an immediate that schedules itself). */
function turnCounter(): { readonly now: number; stop(): void } {
  let turn = 0;
  let timer: NodeJS.Immediate | undefined;
  const tick = (): void => {
    turn++;
    timer = setImmediate(tick);
  };
  timer = setImmediate(tick);
  return {
    get now() {
      return turn;
    },
    stop: () => clearImmediate(timer),
  };
}

test('WriteTurns lets one waiter go per turn, in the order they asked', async () => {
  const turns = new WriteTurns();
  const clock = turnCounter();
  const seen: Array<{ i: number; turn: number }> = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      turns.next().then(() => {
        seen.push({ i, turn: clock.now });
      }),
    ),
  );
  clock.stop();
  assert.deepEqual(
    seen.map((s) => s.i),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(new Set(seen.map((s) => s.turn)).size, 20, `one per turn: ${JSON.stringify(seen.map((s) => s.turn))}`);
  assert.equal(turns.pending, 0);
});

let h: Harness;
before(async () => {
  h = await startHarness();
  await seedZone(h, 'turns.test');
});
after(async () => {
  await h.close();
});

test('concurrent REST and gRPC writes each run in a turn of their own', async () => {
  const clock = turnCounter();
  const turnsOfWrites: number[] = [];
  const execute = h.ledger.execute.bind(h.ledger);
  h.ledger.execute = ((...args: Parameters<typeof execute>) => {
    turnsOfWrites.push(clock.now);
    return execute(...args);
  }) as typeof h.ledger.execute;
  try {
    const rest = Array.from({ length: 24 }, (_, i) =>
      h.rest('POST', '/v1/zones/turns.test/records', { token: h.tokens.alice, body: { name: `r${i}`, type: 'A', value: `192.0.2.${i + 1}` } }),
    );
    const grpc = Array.from({ length: 8 }, (_, i) =>
      h.grpc('RecordService', 'CreateRecord', { zone: 'turns.test', name: `g${i}`, type: 'A', value: `198.51.100.${i + 1}` }, { token: h.tokens.alice }),
    );
    const results = await Promise.all([...rest, ...grpc]);
    for (const r of results.slice(0, 24)) assert.equal((r as { status: number }).status, 201);
    for (const r of results.slice(24)) assert.equal((r as { code: number }).code, 0, JSON.stringify(r));
  } finally {
    h.ledger.execute = execute;
    clock.stop();
  }
  assert.equal(turnsOfWrites.length, 32);
  assert.equal(new Set(turnsOfWrites).size, 32, `writes per turn: ${JSON.stringify(turnsOfWrites)}`);
  const listed = await h.rest('GET', '/v1/zones/turns.test/records?limit=1000', { token: h.tokens.alice });
  assert.equal(listed.status, 200);
  assert.equal(listed.body.records.filter((r: { type: string }) => r.type === 'A').length, 32);
});
