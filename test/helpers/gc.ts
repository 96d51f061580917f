/**
 * A full garbage collection on demand, for tests that measure heap or check that an object was
 * collected. Turns on V8's `gc` global (the flag takes effect for code compiled after it) and takes
 * it from a fresh context, so the test runs without `node --expose-gc`.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
