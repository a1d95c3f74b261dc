// The lock's normal form must not move: every prediction of every committed experiment still
// matches its registered entry (same normalised text, same hash) in the committed sublab.lock,
// whatever module now spells it.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileWithRunners, formatDiagnostics } from '../../src/language/compile.ts';
import { lockPathFor, readLock } from '../../src/prereg/lock.ts';
import { predictionStatuses } from '../../src/prereg/status.ts';

const root = path.resolve(import.meta.dirname, '../../experiments');

describe('committed locks', () => {
  it('every prediction of experiments/* is registered, unchanged', async () => {
    const statuses: string[] = [];
    for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const f of readdirSync(path.join(root, dir.name)).filter((x) => x.endsWith('.exp'))) {
        const file = path.join(root, dir.name, f);
        const r = await compileWithRunners(file);
        expect(formatDiagnostics(r)).not.toMatch(/error/);
        const lock = readLock(lockPathFor(file), { git: false });
        for (const e of r.experiments) {
          for (const s of predictionStatuses(e, lock, null)) statuses.push(`${dir.name}/${f}: ${s.status}: ${s.text}`);
        }
      }
    }
    expect(statuses.length).toBeGreaterThanOrEqual(84);
    // Registered when some of their runs (the baseline's point of the sweep) already existed, as
    // the lock records: exploratory for good, and said so in experiments/topic-lm/README.md.
    const late = ['topic-lm/animal-distill.exp', 'topic-lm/animal-init-noise.exp', 'topic-lm/animal-samples.exp'];
    expect(statuses.filter((s) => !/: registered: /.test(s) && !(late.some((f) => s.startsWith(`${f}: `)) && /: registered-after: /.test(s)))).toEqual([]);
    expect(new Set(statuses.filter((s) => /: registered-after: /.test(s)).map((s) => s.split(':')[0]))).toEqual(new Set(late));
  });
});
