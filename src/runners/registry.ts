// The runner registry: schemas are static (the checker needs them without loading TensorFlow.js or
// transformers.js); implementations are imported only when a run needs them.
import type { Runner } from './schema.ts';
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
