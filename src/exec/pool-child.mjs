// Entry of a `--jobs` child process (spawned by pool.ts): TypeScript through tsx, as bin/sublab.mjs.
import { register } from 'tsx/esm/api';
register();
await import('./pool-child.ts');
