// Worker-thread entry for background checkpoints (see Ledger.checkpointInBackground). Plain JS so it
// runs whether or not the parent loaded TypeScript through `--import tsx` or tsx's register().
import { register } from 'tsx/esm/api';

register();
await import('./checkpoint-job.ts');
