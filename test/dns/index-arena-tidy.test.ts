/**
 * The serving index compacts its arena as writes come (NameTable.tidy after each diff): every write
 * re-encodes the apex's answers for the new serial and leaves the old ones as garbage. Compacting
 * only when the arena was full let an hour of writes on the 1M-name zone fill its spare capacity
 * with garbage (resident pages) and then double it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';

const ZONE = 'tidy.test.';

test('the serving index keeps its used arena within an eighth of garbage (or 256 KiB) through many writes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-tidy-'));
  const ledger = Ledger.open({ path: path.join(dir, 'ledger.db') });
  try {
    // 30,000 names (about 2 MB of arena), and an apex whose entry is ~2 KB (TXT records): each
    // write's serial bump leaves that much garbage, so an eighth of the arena is a hundred writes.
    const lines = [`$ORIGIN ${ZONE}`, '@ 3600 IN SOA ns1 admin 1 7200 900 1209600 300', '@ 3600 IN NS ns1', 'ns1 3600 IN A 192.0.2.1'];
    for (let i = 0; i < 10; i++) lines.push(`@ 300 IN TXT "${String(i).repeat(180)}"`);
    for (let i = 0; i < 30_000; i++) lines.push(`h${i} 300 IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    ledger.execute(importCommand(ZONE, lines.join('\n')), { actor: 'test' });
    const index = new ServingIndex();
    index.sync(ledger.state);
    while (!index.isCurrent(ledger.state) || index.filling) await new Promise((r) => setImmediate(r));
    const start = index.imageOf(ledger.state)!.table;
    assert.ok(start.arena.length > 1_500_000, `an arena of ${start.arena.length} bytes`);
    let mostUsed = 0;
    let mostGarbage = 0;
    for (let i = 0; i < 1000; i++) {
      ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `w${i}.${ZONE}`, type: 'A', value: `198.51.${(i >> 8) & 255}.${i & 255}` }] }, { actor: 'test' });
      assert.equal(index.sync(ledger.state), 'diffed');
      const table = index.imageOf(ledger.state)!.table;
      mostUsed = Math.max(mostUsed, table.arena.length);
      mostGarbage = Math.max(mostGarbage, table.garbage);
      assert.ok(table.garbage < 256 * 1024 || table.garbage * 8 < table.arena.length + 4096, `write ${i}: ${table.garbage} garbage bytes in ${table.arena.length} used`);
    }
    assert.ok(mostGarbage > 200_000, `the writes left garbage to compact (${mostGarbage} bytes at most)`);
    // ~40 bytes of arena a new name (1,000 of them): the used arena ends near where it started.
    assert.ok(mostUsed < (start.arena.length + 1000 * 60) * 1.15, `the used arena stayed near its live bytes (${mostUsed} at most, from ${start.arena.length})`);
    assert.equal(index.imageOf(ledger.state)!.table.live, index.size);
  } finally {
    ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
