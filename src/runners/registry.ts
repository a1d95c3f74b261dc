// The runner registry: schemas are static (the checker needs them without loading TensorFlow.js or
// transformers.js); implementations are imported only when a run needs them. The user's own
// runners, named by path in an .exp file, are loaded by by-path.ts; `runnerFor` serves both.
import { pathRunnerOrThrow } from './by-path.ts';
import type { Runner, RunnerSchema } from './schema.ts';
import type { AnyRunnerDefinition } from './define.ts';
import { mlpDistillSchema } from './mlp_distill/schema.ts';
import { superpositionSchema } from './superposition/schema.ts';
import { tokenProbeSchema } from './token_probe/schema.ts';
import { commandSchema } from './command/schema.ts';
import { lmDistillSchema } from './lm_distill/schema.ts';
import { needPackages } from '../util/optional-packages.ts';

export const schemas: readonly AnyRunnerDefinition[] = [mlpDistillSchema, superpositionSchema, tokenProbeSchema, commandSchema, lmDistillSchema];

/**
 * The optional packages (peer dependencies) each built-in runner loads with its default engine,
 * checked before its module is imported so a missing one is one clear error, not a stack trace.
 * The TensorFlow.js engines check theirs when chosen (tfjsPackages).
 */
export const runnerPackages: Readonly<Record<string, readonly string[]>> = {
  mlp_distill: ['onnxruntime-node', 'onnx-proto', 'mnist'],
  superposition: ['onnxruntime-node', 'onnx-proto'],
  token_probe: ['@huggingface/transformers', 'onnx-proto'],
  command: [],
  lm_distill: ['onnxruntime-node', 'onnx-proto'],
};

const loaders: Record<string, () => Promise<Runner>> = {
  mlp_distill: async () => (await import('./mlp_distill/runner.ts')).runner,
  superposition: async () => (await import('./superposition/runner.ts')).runner,
  token_probe: async () => (await import('./token_probe/runner.ts')).runner,
  command: async () => (await import('./command/runner.ts')).runner,
  lm_distill: async () => (await import('./lm_distill/runner.ts')).runner,
};

export function getSchema(name: string): AnyRunnerDefinition | undefined {
  return schemas.find((s) => s.name === name);
}

export function runnerNames(): string[] {
  return schemas.map((s) => s.name);
}

export async function loadRunner(name: string): Promise<Runner> {
  const load = loaders[name];
  if (!load) throw new Error(`unknown runner "${name}"`);
  needPackages(`the ${name} runner`, runnerPackages[name] ?? []);
  return load();
}

/**
 * The runner of a checked experiment: a built-in by name, or the user's module it names by path
 * (`runnerModule`, absolute). The one way the executor and every session get their runner.
 */
export async function runnerFor(exp: { runner: RunnerSchema; runnerModule?: string }): Promise<Runner> {
  if (exp.runnerModule) return (await pathRunnerOrThrow(exp.runnerModule)).runner;
  return loadRunner(exp.runner.name);
}

/** What tells runners apart within one process: the module's path for a path runner, else the name. */
export function runnerKey(exp: { runner: RunnerSchema; runnerModule?: string }): string {
  return exp.runnerModule ?? exp.runner.name;
}
