// Worker entry in plain JS: registers tsx so the TypeScript worker loads the same way under the
// CLI (tsx), Vitest and plain node.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
