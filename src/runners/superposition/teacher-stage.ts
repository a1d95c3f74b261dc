// The teacher stage of superposition (issue 21): a sweep over a child parameter (child_init,
// ablate, eval_batch) trains each seed's teacher once. The key comes from the declaration in
// schema.ts (the parameters declared `stage: 'teacher'`, the seed, the source files runner.ts
// reaches, the engine); the artifact is the trained teacher's W [m, F] then b [F], float32 LE.
// Nothing else crosses from the teacher phase: the child's init and data have their own streams,
// so a loaded teacher gives bit-identical results (tested).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { engineIdentity } from '../../backend/engine-choice.ts';
import type { TypedRunContext, TypedRunSpec } from '../define.ts';
import type { SuperpositionParams } from './schema.ts';

const FILE = 'teacher.f32';

function write(dir: string, W: Float32Array, b: Float32Array): void {
  const body = Buffer.alloc((W.length + b.length) * 4);
  let off = 0;
  for (const a of [W, b]) for (let i = 0; i < a.length; i++, off += 4) body.writeFloatLE(a[i]!, off);
  writeFileSync(path.join(dir, FILE), body);
}

function read(dir: string, nW: number, nb: number): { W: Float32Array; b: Float32Array } {
  const body = readFileSync(path.join(dir, FILE));
  if (body.length !== (nW + nb) * 4) throw new Error(`superposition: the stored teacher in ${dir} has ${body.length} bytes, expected ${(nW + nb) * 4}; its key should have prevented this`);
  const W = new Float32Array(nW), b = new Float32Array(nb);
  for (let i = 0; i < nW; i++) W[i] = body.readFloatLE(i * 4);
  for (let i = 0; i < nb; i++) b[i] = body.readFloatLE((nW + i) * 4);
  return { W, b };
}

/** A group's teachers in the stage: all stored (stacked [N, m, F] and [N, 1, F]), or which to save. */
export interface TeacherStage {
  /** The engine the keys were derived for: the group must train on it. */
  engine: string;
  /** Every seed's teacher, when the store holds them all (else the group trains all of them). */
  stored?: { W: Float32Array; b: Float32Array };
  /** Commit the trained teachers of the seeds the store lacks. */
  save(teacher: { W: Float32Array; b: Float32Array }): void;
}

/**
 * The teacher stage of a group of runs (`m` hidden dimensions, `F` features). Undefined without a
 * stage store (nothing would be kept). A group whose store holds only some of its teachers trains
 * them all (a seed's teacher is bit-identical in any group) and stores the missing ones: the
 * teacher phase runs all seeds side by side, and partial groups are rare (seed counts that differ).
 */
export async function openTeacherStage(specs: readonly TypedRunSpec<SuperpositionParams>[], ctx: TypedRunContext, m: number, F: number): Promise<TeacherStage | undefined> {
  if (!ctx.stageStore) return undefined;
  const g = await ctx.stageGroup('teacher', specs);
  const N = specs.length, nW = m * F;
  let stored: TeacherStage['stored'];
  if (g.toCompute.length === 0) {
    stored = { W: new Float32Array(N * nW), b: new Float32Array(N * F) };
    for (let i = 0; i < N; i++) {
      const t = read(g.folder(i), nW, F);
      stored.W.set(t.W, i * nW);
      stored.b.set(t.b, i * F);
    }
  }
  return {
    engine: engineIdentity(specs[0]!.params),
    ...(stored ? { stored } : {}),
    save(teacher) {
      for (const i of g.toCompute) write(g.dir(i), teacher.W.subarray(i * nW, (i + 1) * nW), teacher.b.subarray(i * F, (i + 1) * F));
      g.commit();
    },
  };
}
