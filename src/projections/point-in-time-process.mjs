// Entry of the point-in-time process (see PointInTimeReader). Plain JS so that it runs whether or
// not the parent loaded TypeScript through `--import tsx` or tsx's register().
import { register } from 'tsx/esm/api';

register();
await import('./point-in-time-job.ts');
