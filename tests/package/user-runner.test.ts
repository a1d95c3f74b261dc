// Issue 19: a user TypeScript runner named by path (`runner "./runners/toy.ts"`), importing
// defineRunner from the installed 'sublab' and a module of its own: run with `--jobs 2` (both
// children load it: they meet in a rendezvous folder), documented by `sublab runners`, and under
// Vitest with sublab/vitest.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { installedProject, type InstalledProject } from './project.ts';

let project: InstalledProject;
beforeAll(async () => {
  project = await installedProject();
}, 15 * 60_000);

const runner = `import fs from 'node:fs';
import path from 'node:path';
import { defineRunner } from 'sublab';
import { loss } from './lib/helper.ts';

async function meet(): Promise<void> {
  const dir = process.env.RENDEZVOUS;
  if (!dir) return;
  fs.writeFileSync(path.join(dir, String(process.pid)), '');
  for (let t = 0; t < 300 && fs.readdirSync(dir).length < 2; t++) await new Promise((r) => setTimeout(r, 100));
}

export default defineRunner({
  name: 'toy', version: '1', seeded: true, description: 'A toy runner of the user.',
  params: [
    { name: 'width', type: 'integer', default: 16, min: 1, description: 'hidden width' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed' },
  ],
  metrics: [{ name: 'loss', description: 'final loss' }],
}).implement({
  async run(specs) {
    await meet();
    return specs.map((s) => ({ rows: [{ metrics: { loss: loss(s.params.width, s.seed) } }], backend: 'js' }));
  },
});
`;

describe('a user runner by path in the installed package', () => {
  it('runs with --jobs 2 (the child loads it) and under Vitest', () => {
    const dir = project.folder('user-runner');
    fs.mkdirSync(path.join(dir, 'runners/lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'runners/toy.ts'), runner);
    fs.writeFileSync(path.join(dir, 'runners/lib/helper.ts'), 'export function loss(w: number, s: number): number {\n  return 1 / w + s * 1e-3;\n}\n');
    fs.writeFileSync(path.join(dir, 'toy.exp'), 'experiment "toy" {\n  runner "./runners/toy.ts"\n  sweep width in [4, 8, 16]\n  seeds 3\n  predict loss decreases with width\n}\n');
    const meet = path.join(dir, 'meet');
    fs.mkdirSync(meet);
    const r = project.sublab(dir, ['run', 'toy.exp', '--jobs', '2', '--no-progress'], { RENDEZVOUS: meet, SUBLAB_CACHE: path.join(dir, '.cache1') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('9 runs · 9 computed');
    expect(fs.readdirSync(meet)).toHaveLength(2);
    // The runner's own module and what it imports are its identity: unchanged, all cached; edited, recomputed.
    const cache1 = { SUBLAB_CACHE: path.join(dir, '.cache1') };
    expect(project.sublab(dir, ['run', 'toy.exp', '--no-progress'], cache1).stdout).toContain('9 runs · 0 computed, 9 cached');
    fs.appendFileSync(path.join(dir, 'runners/lib/helper.ts'), '// tuned\n');
    expect(project.sublab(dir, ['run', 'toy.exp', '--no-progress'], cache1).stdout).toContain('9 runs · 9 computed, 0 cached');
    const doc = project.sublab(dir, ['runners', './runners/toy.ts']);
    expect(doc.stdout).toContain('module: ./runners/toy.ts (with 2 source files');
    fs.writeFileSync(path.join(dir, 'vitest.config.ts'), "import { defineConfig } from 'vitest/config';\nimport { sublabExp } from 'sublab/vitest';\nexport default defineConfig({ plugins: [sublabExp()], test: { include: ['**/*.exp'] } });\n");
    const v = project.npx(dir, ['vitest', 'run'], { SUBLAB_CACHE: path.join(dir, '.cache2') });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/1 passed/);
  }, 300_000);

  it('loads in a project that is not "type": "module" (its .ts compiled to CommonJS, sublab required as ESM)', () => {
    const dir = project.folder('user-runner-cjs');
    fs.mkdirSync(path.join(dir, 'runners/lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "cjs-project", "private": true }\n');
    fs.writeFileSync(path.join(dir, 'runners/toy.ts'), runner);
    fs.writeFileSync(path.join(dir, 'runners/lib/helper.ts'), 'export function loss(w: number, s: number): number {\n  return 1 / w + s * 1e-3;\n}\n');
    fs.writeFileSync(path.join(dir, 'toy.exp'), 'experiment "toy" {\n  runner "./runners/toy.ts"\n  sweep width in [4, 8, 16]\n  seeds 3\n  predict loss decreases with width\n}\n');
    const r = project.sublab(dir, ['run', 'toy.exp', '--no-progress'], { SUBLAB_CACHE: path.join(dir, '.cache') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('9 runs · 9 computed');
  }, 120_000);
});
