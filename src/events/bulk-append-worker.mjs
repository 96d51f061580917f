// Entry of the bulk append worker thread (see bulk-append.ts). Plain JS so that it runs whether or
// not the parent loaded TypeScript through `--import tsx` or tsx's register() (which a worker
// thread does not inherit).
import { register } from 'tsx/esm/api';

register();
await import('./bulk-append-job.ts');
