/** Child process for the crash test: writes batches in a loop and prints each acknowledged batch id. */
import { Ledger } from '../../src/ledger.ts';

const path = process.argv[2];
const ledger = Ledger.open({ path, checkpointEvery: 50 });
if (!ledger.zone('crash.test.')) {
  ledger.execute({ kind: 'createZone', zone: 'crash.test', soa: { primary_ns: 'ns.crash.test', admin_email: 'h@crash.test' } }, { actor: 'crash' });
}
for (let i = 0; ; i++) {
  const res = ledger.execute(
    { kind: 'changeRecords', zone: 'crash.test', ops: [{ op: 'create', name: `h${process.pid}-${i}.crash.test`, type: 'A', value: '192.0.2.1' }, { op: 'create', name: `h${process.pid}-${i}.crash.test`, type: 'TXT', value: `"${i}"` }] },
    { actor: 'crash' },
  );
  process.stdout.write(`${res.batchId} ${res.lastSeq}\n`);
}
