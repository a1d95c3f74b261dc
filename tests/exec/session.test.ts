// session.ts: the one route from a file to runs, runners and shares (run, worker, submit, the pool,
// Vitest). The ids and shares of a fixed experiment (tests/exec/fixtures/session.exp) are pinned:
// ids feed the cache and the committed reports, and every process must cut the same shares.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LanguageError } from '../../src/language/errors.ts';
import { openSession, planFile, PlanError } from '../../src/exec/session.ts';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = path.join(import.meta.dirname, 'fixtures/session.exp');

describe('session', () => {
  it('plans a fixed experiment to the same run ids, batches and shares', async () => {
    const s = await openSession(fixture);
    expect(s.plans).toHaveLength(1);
    const runs = s.plans[0]!.runs;
    expect(runs).toHaveLength(50);
    expect([runs[0]!.id, runs.at(-1)!.id]).toEqual(['48d290a8db1c9de3', 'aaf44035d3997fa9']);
    expect(s.runnerOf(s.plans[0]!)?.maxGroup).toBeTypeOf('function');
    // 5 points × 10 seeds, the runner batches up to 16: one unit per point.
    expect(s.units(1).map((u) => u.runs.length)).toEqual([10, 10, 10, 10, 10]);
    expect(s.share(1, 3)[0]!.runs.slice(0, 3).map((r) => r.id)).toEqual(['7328060e044420f7', 'bcd05ce3544705fd', 'f1aa776cb5825b55']);
    const shares = [0, 1, 2].flatMap((t) => s.share(t, 3)[0]!.runs.map((r) => r.id));
    expect(shares.sort()).toEqual(runs.map((r) => r.id).sort());
  });

  it('one error class per failure: LanguageError for a file that does not compile, PlanError for a bad override', () => {
    expect(() => planFile(path.join(root, 'tests/cli-run/fixtures/bad.exp'))).toThrow(LanguageError);
    expect(() => planFile(fixture, { overrides: { nonexistent: '1' } })).toThrow(PlanError);
    expect(() => planFile(fixture, { overrides: { nonexistent: '1' } })).toThrow(/session\.exp: experiment "[^"]+": unknown parameter "nonexistent"/);
  });
});
