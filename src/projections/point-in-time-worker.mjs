// Worker-thread entry for point-in-time reads (see PointInTimeReader). Plain JS so it runs whether
// or not the parent loaded TypeScript through `--import tsx` or tsx's register().
import { register } from 'tsx/esm/api';

register();
await import('./point-in-time-job.ts');
