// Two parts of the stage API a runner uses when an artifact is not simply "the run's own": a
// stage's seedOf (the seed it is drawn from comes from the parameters) keys every run that derives
// the same seed to one artifact, in plan and run alike; and a spec's `as` makes the run record a
// second artifact of a stage under its own name, in the onStage events the executor records.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindStages, stageKeys, StageStore, type StageEvent } from '../../src/exec/stages.ts';
import { defineRunner } from '../../src/runners/define.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-stage-roles-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const code = [new URL(import.meta.url)];
const schema = defineRunner({
  name: 'roles',
  version: '1',
  description: 'a base drawn from base_seed when set, a head per run',
  seeded: true,
  stages: [
    { name: 'base', code, seedOf: (p, seed) => (p.base_seed >= 0 ? p.base_seed : seed) },
    { name: 'head', after: ['base'], code },
  ],
  params: [
    { name: 'width', stage: 'base', type: 'integer', default: 4, description: 'feeds the base' },
    { name: 'base_seed', stage: 'run', type: 'integer', default: -1, min: -1, description: 'the base seed, -1: the run\'s' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'seed' },
  ],
  metrics: [{ name: 'x', description: 'x' }],
});

describe('stage seedOf and roles', () => {
  it('keys a stage by the seed it derives; what follows it by the run\'s own', () => {
    const k = (params: Record<string, number>, seed: number) => stageKeys(schema, params, seed, { expDir: dir });
    const [a, b, own] = [k({ base_seed: 5 }, 0), k({ base_seed: 5 }, 1), k({}, 5)];
    expect(a.base!.key).toBe(b.base!.key);
    expect(a.base!.key).toBe(own.base!.key); // a seed-5 run's own base is the same artifact
    expect(a.base!.material.seed).toBe(5);
    expect(a.head!.key).not.toBe(b.head!.key); // the head stays the run's
    expect(a.head!.material.after).toEqual({ base: a.base!.key });
    expect(k({}, 0).base!.key).not.toBe(a.base!.key);
  });

  it('a spec read under another name is reported as that run\'s use, besides the stage\'s own users', async () => {
    const events: StageEvent[] = [];
    const store = new StageStore(path.join(dir, 'stages'));
    const api = bindStages(schema, { progress: () => {}, stageStore: store, onStage: (e) => events.push(e) });
    // Run r0 (seed 0) reads its base and, as "base:next", seed 1's; run r1 (seed 1) reads its own.
    const specs = [
      { id: 'r0', seed: 0, params: {} },
      { id: 'r0', seed: 1, params: {}, as: 'base:next' },
      { id: 'r1', seed: 1, params: {} },
    ];
    const g = await api.stageGroup('base', specs);
    expect(g.toCompute).toEqual([0, 1]);
    for (const i of g.toCompute) fs.writeFileSync(path.join(g.dir(i), 'w'), String(specs[i]!.seed));
    g.commit();
    api.close();
    const bySeed1 = events.find((e) => e.key === g.keys[1])!;
    expect(bySeed1).toMatchObject({ stage: 'base', outcome: 'computed', runIds: ['r1'], uses: [{ runId: 'r0', as: 'base:next' }] });
    const bySeed0 = events.find((e) => e.key === g.keys[0])!;
    expect(bySeed0.runIds).toEqual(['r0']);
    expect(bySeed0.uses).toBeUndefined();
    expect(g.folder(2)).toBe(g.folder(1));
  });
});
