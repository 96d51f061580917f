/**
 * When a big offline import starts itself again with --single-threaded-gc (src/cli/single-threaded-gc.ts):
 * the environment's choice, the flag already there, the inspector, and the machine's cores.
 * (test/zonefile/import-worker.test.ts runs the second process itself.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { wantsSingleThreadedGc } from '../../src/cli/single-threaded-gc.ts';

test('single-threaded GC for a big import: MCNS_IMPORT_GC decides; never twice; not under the inspector unless asked; else on up to two cores', () => {
  assert.equal(wantsSingleThreadedGc({ MCNS_IMPORT_GC: 'single' }, []), true);
  assert.equal(wantsSingleThreadedGc({ MCNS_IMPORT_GC: 'parallel' }, []), false);
  // The second process itself has the flag: it imports, whatever was asked.
  assert.equal(wantsSingleThreadedGc({ MCNS_IMPORT_GC: 'single' }, ['--single-threaded-gc']), false);
  assert.equal(wantsSingleThreadedGc({}, ['--single-threaded-gc']), false);
  // Under the inspector the import stays in the process being debugged, unless asked otherwise.
  assert.equal(wantsSingleThreadedGc({}, ['--inspect']), false);
  assert.equal(wantsSingleThreadedGc({}, ['--inspect-brk=0']), false);
  assert.equal(wantsSingleThreadedGc({ MCNS_IMPORT_GC: 'single' }, ['--inspect']), true);
  // The default follows the cores (this machine's, whatever they are); an empty value is no choice.
  assert.equal(wantsSingleThreadedGc({}, []), availableParallelism() <= 2);
  assert.equal(wantsSingleThreadedGc({ MCNS_IMPORT_GC: '' }, []), availableParallelism() <= 2);
  assert.throws(() => wantsSingleThreadedGc({ MCNS_IMPORT_GC: 'yes' }, []), /MCNS_IMPORT_GC must be "single" or "parallel", not "yes"/);
});
