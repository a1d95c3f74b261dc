// Entry of a `--jobs` child process (spawned by pool.ts): pool-child.ts, built or not.
import { importOwn } from '../util/import-own.mjs';

await importOwn(new URL('./pool-child.ts', import.meta.url));
