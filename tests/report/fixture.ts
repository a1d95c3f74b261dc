// A fixed, hand-made result set for the report tests: the fixture .exp is compiled by the real
// compiler; rows, verdicts, registrations and provenance are made up here, so nothing runs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import type { CheckedExperiment } from '../../src/language/checked.ts';
import type { ResultRow, ResultTable } from '../../src/results/types.ts';
import type { Verdict } from '../../src/verdict/types.ts';
import { chainEntries, type LockState } from '../../src/prereg/lock.ts';
import { planRegistration } from '../../src/prereg/register.ts';
import { firstResultAt, predictionStatuses } from '../../src/prereg/status.ts';
import { buildReportModel, type ReportInput, type ReportModel } from '../../src/report/model.ts';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const fixtureExp = path.join(here, 'fixtures', 'sparsity.exp');

/**
 * The compiled fixture with the runner's defaults pinned, so the golden files do not change each
 * time a runner gains a parameter or changes a default.
 */
export function compileFixture(): CheckedExperiment {
  const r = compileFile(fixtureExp);
  if (r.experiments.length !== 1) throw new Error(`fixture does not compile:\n${formatDiagnostics(r)}`);
  const e = r.experiments[0]!;
  return {
    ...e,
    params: { variant: 'auxiliary', features: 20, hidden: 5, sparsity: 0.9, steps: 200, lr: 0.001, seed: 0 },
    runner: { ...e.runner, description: 'Toy model of superposition (pinned description for the golden files).', params: [] },
  };
}

const T_REGISTER = '2026-01-10T09:00:00.000Z';
const T_FIRST_RESULT = '2026-01-11T12:00:00.000Z';
const T_LATE = '2026-01-12T08:00:00.000Z';

/** 3 sweep points × 4 seeds, metric values a fixed function of point and seed. */
export function fixtureTable(e: CheckedExperiment): ResultTable {
  const rows: ResultRow[] = [];
  const sparsities = e.sweeps[0]!.values as number[];
  sparsities.forEach((s, point) => {
    for (let seed = 0; seed < 4; seed++) {
      const wobble = [0.01, -0.02, 0.015, -0.005][seed]!;
      rows.push({
        runId: `run-${point}-${seed}`,
        point,
        seed,
        params: { ...e.params, sparsity: s },
        metrics: {
          transfer_ratio: 0.3 + 0.5 * s + wobble,
          init_ratio: 0.25 + wobble / 4,
          child_loss: 0.002 + 0.001 * point + Math.abs(wobble) / 10,
        },
        keys: {},
        backend: 'cpu',
        wallMs: 1500 + 100 * point + seed,
        cached: point === 0,
        finishedAt: point === 0 && seed === 0 ? T_FIRST_RESULT : T_LATE,
      });
    }
  });
  return { experiment: e.name, file: e.file, rows, failed: [], extras: {} };
}

export function fixtureVerdicts(e: CheckedExperiment): Verdict[] {
  const [trend, compare, loss] = e.predictions as [typeof e.predictions[0], typeof e.predictions[0], typeof e.predictions[0]];
  return [
    {
      prediction: trend, predictionIndex: 0, text: trend.text, line: trend.loc.line, group: {}, outcome: 'confirmed', test: 'Spearman rho',
      statistic: { name: 'rho', value: 0.8731 }, effect: { name: 'rho', value: 0.8731, ci: [0.5912, 0.9655] },
      p: 0.000213, pAdjusted: 0.000639, n: 12, reason: 'rho = 0.87 > 0 with p < 0.001 (Holm), so transfer_ratio increases with sparsity', correction: 'holm',
    },
    {
      prediction: compare, predictionIndex: 1, text: compare.text, line: compare.loc.line, group: {}, outcome: 'inconclusive', test: 'paired t',
      statistic: { name: 't', value: 2.047, df: 3 }, effect: { name: 'mean diff', value: 0.7012, ci: [-0.0893, 1.4917] },
      p: 0.0663, pAdjusted: 0.1326, n: 4, correction: 'holm',
      standardized: { name: "Cohen's dz", value: 1.02 },
      power: { mde: 1.05, mdeStandardized: 1.53, level: 0.025 / 3, nNeeded: 14, unit: 'seeds per point', text: 'MDE at 80% power with n = 4: 1.05 (dz = 1.53); the observed 0.701 (dz = 1.02) would need about 14 seeds per point' },
      rowsNote: '1 run failed at sparsity = 0.9',
      reason: 'mean diff 0.701 [95% CI -0.0893, 1.49], dz = 1.02, over 4 pairs; Holm-adjusted p = 0.13 > alpha = 0.05: the data support neither the prediction nor its opposite. MDE at 80% power with n = 4: 1.05 (dz = 1.53); the observed 0.701 (dz = 1.02) would need about 14 seeds per point. Rows not used: 1 run failed at sparsity = 0.9.',
    },
    {
      prediction: loss, predictionIndex: 2, text: loss.text, line: loss.loc.line, group: {}, outcome: 'refuted', test: 'one-sample t',
      statistic: { name: 't', value: -31.4, df: 11 }, effect: { name: 'mean − 0.01', value: -0.00685, ci: [-0.00733, -0.00637] },
      p: 0.0000012, pAdjusted: 0.0000036, n: 12, reason: 'child_loss is below 0.01 & the "<" holds, 100% of rows | but this is made up_for_escaping', correction: 'holm',
    },
  ];
}

/**
 * Lock: the first two predictions registered before the first result, the third after results
 * existed (so it is exploratory).
 */
export function fixtureLock(e: CheckedExperiment): LockState {
  const lock: LockState = { path: path.join(here, 'fixtures', 'sublab.lock'), entries: [], problems: [], tampered: false };
  const git = { commit: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', dirty: false };
  const early = { ...e, predictions: e.predictions.slice(0, 2) };
  lock.entries.push(...chainEntries(lock, planRegistration([early], lock, { git, now: new Date(T_REGISTER) }).entries));
  lock.entries.push(...chainEntries(lock, planRegistration([e], lock, { git, now: new Date(T_LATE) }).entries));
  return lock;
}

export function fixtureInput(): { input: ReportInput; lock: LockState } {
  const e = compileFixture();
  return { input: { experiment: e, table: fixtureTable(e), verdicts: fixtureVerdicts(e), wallMs: 12_345, cacheHits: 4 }, lock: fixtureLock(e) };
}

export async function fixtureModel(opts: { svg?: boolean } = {}): Promise<ReportModel> {
  const { input, lock } = fixtureInput();
  return buildReportModel([input], {
    statuses: (e) => predictionStatuses(e, lock, firstResultAt(input.table.rows)),
    sublabVersion: '0.1.0',
    git: { commit: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef', dirty: true },
    machine: { os: 'Linux 6.1.0 (x64)', cpu: 'Fixture CPU @ 2.0GHz', cores: 2 },
    date: '2026-01-12T09:30:00.000Z',
    svg: opts.svg ?? false,
    root,
  });
}
