// One table of prediction forms: the judge dispatches on it, docs/verdicts.md's table of forms is
// generated from it (tests/verdict/forms.test.ts keeps the two word for word), and the golden
// tests read the test names from it.
import type { PredictionForm } from '../../language/ast.ts';
import type { FormModule } from '../common.ts';
import type { TestName } from '../types.ts';
import { compareForm } from './compare.ts';
import { flatForm } from './flat.ts';
import { peakForm } from './peak.ts';
import { correlatesForm, trendForm } from './trend.ts';

type ModuleFor<K extends PredictionForm['kind']> = FormModule<Extract<PredictionForm, { kind: K }>>;

export const FORMS: { [K in PredictionForm['kind']]: ModuleFor<K> } = {
  trend: trendForm,
  correlates: correlatesForm,
  compare: compareForm,
  peak: peakForm,
  flat: flatForm,
};

export function formModule<F extends PredictionForm>(form: F): FormModule<F> {
  const m = (FORMS as Record<string, FormModule<PredictionForm>>)[form.kind];
  if (!m) throw new Error(`unknown prediction form '${form.kind}'`);
  return m as unknown as FormModule<F>;
}

/** Every test some form can use. */
export function formTests(): TestName[] {
  return [...new Set(Object.values(FORMS).flatMap((m) => [...m.tests]))];
}

/** The docs' table of forms (docs/verdicts.md holds it verbatim). */
export function formsTableMarkdown(): string {
  const rows = Object.values(FORMS).map((m) => `| ${m.syntax} | ${m.tests.map((t) => `\`${t}\``).join(', ')} | ${m.rule} |`);
  return ['| form | tests | rule |', '| --- | --- | --- |', ...rows].join('\n');
}
