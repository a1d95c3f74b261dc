// Canonical text of a prediction and of an experiment's setup. Hashes are taken of these texts, so
// they must depend on meaning only: printed from the AST (never the source), numbers by value,
// clause order (where/at conditions, for-each columns) sorted.
import { createHash } from 'node:crypto';
import type { Condition, Operand, Prediction, PredictionForm, Scalar, Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { identityParams } from '../runners/schema.ts';
import { formModule } from '../verdict/forms/index.ts';
import type { Canon } from '../verdict/forms/module.ts';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Shortest round-trip spelling of the value: `1e-3`, `0.001` and `1.0e-3` all print `0.001`. */
export function canonicalNumber(x: number): string {
  if (Object.is(x, -0)) return '0';
  return String(x);
}

function scalar(s: Scalar): string {
  switch (s.kind) {
    case 'number':
      return canonicalNumber(s.value);
    case 'bool':
      return s.value ? 'true' : 'false';
    // A bare symbol and a quoted string name the same value (`dataset = mnist` == `dataset = "mnist"`).
    case 'string':
    case 'symbol':
      return JSON.stringify(s.value);
  }
}

function conditions(cs: readonly Condition[]): string {
  return cs
    .map((c) => `${c.param.name} ${c.op} ${scalar(c.value)}`)
    .sort()
    .join(' and ');
}

function operand(o: Operand): string {
  if (o.kind === 'const') return canonicalNumber(o.value.value);
  return o.at.length ? `${o.metric.name} at ${conditions(o.at)}` : o.metric.name;
}

const canon: Canon = { number: canonicalNumber, operand };

/** The form's canonical text, spelt by its module. */
function form(f: PredictionForm): string {
  return formModule(f).normalise(f, canon);
}

/**
 * The prediction as the lock records it, e.g. `predict teacher_acc > 0.9 where weight_decay <= 0.001`.
 * The `because` rationale is deliberately left out: rewording the reason changes neither the test
 * nor its verdict (the lock still stores the rationale as registered, for the report).
 */
export function normalisePrediction(p: Prediction): string {
  let s = `predict ${form(p.form)}`;
  if (p.where.length) s += ` where ${conditions(p.where)}`;
  if (p.forEach.length) s += ` for each ${p.forEach.map((i) => i.name).sort().join(', ')}`;
  return s;
}

export function predictionHash(p: Prediction): string {
  return sha256(normalisePrediction(p));
}

/** What a prediction's verdict depends on besides its own text. Execution-only parameters are left out. */
export function setupOf(e: CheckedExperiment): Record<string, unknown> {
  const params = identityParams(e.runner.params, e.params);
  return {
    runner: e.runner.name,
    params,
    sweeps: e.sweeps.map((s) => ({ name: s.name, values: s.values })),
    seeds: e.seeds,
    alpha: e.alpha,
    correction: e.correction,
  };
}

export function setupHash(e: CheckedExperiment): string {
  return sha256(canonicalJson(setupOf(e)));
}
