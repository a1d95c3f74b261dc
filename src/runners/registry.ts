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

export const schemas: readonly AnyRunnerDefinition[] = [mlpDistillSchema, superpositionSchema, tokenProbeSchema, commandSchema];

const loaders: Record<string, () => Promise<Runner>> = {
  mlp_distill: async () => (await import('./mlp_distill/runner.ts')).runner,
  superposition: async () => (await import('./superposition/runner.ts')).runner,
  token_probe: async () => (await import('./token_probe/runner.ts')).runner,
  command: async () => (await import('./command/runner.ts')).runner,
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
