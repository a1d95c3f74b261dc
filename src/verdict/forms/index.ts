// One table of prediction forms. The grammar's `predictionForm` alternatives, the AST builder, the
// checker, the lock's normal form, the run table's columns, the decidability warnings and the judge
// all dispatch on it; docs/verdicts.md's table of forms is generated from it (`npm run gen:docs`,
// tests/verdict/forms.test.ts fails when the committed doc differs).
import type { PredictionForm } from '../../language/ast.ts';
import type { TestName } from '../types.ts';
import { compareForm } from './compare.ts';
import { flatForm } from './flat.ts';
import { FORM_HANDLERS, type FormModule } from './module.ts';
import { peakForm } from './peak.ts';
import { correlatesForm, trendForm } from './trend.ts';

export type { FormModule } from './module.ts';

type Kind = PredictionForm['kind'];
type ModuleFor<K extends Kind> = FormModule<Extract<PredictionForm, { kind: K }>>;

/** In grammar order: the parser tries the alternatives of `predictionForm` in this order. */
export const FORMS = {
  trend: trendForm,
  peak: peakForm,
  flat: flatForm,
  correlates: correlatesForm,
  compare: compareForm,
} as const satisfies { [K in Kind]: ModuleFor<K> };

/** Forms added at run time by registerForm (tests), after the built-in ones. */
const registered = new Map<string, FormModule>();
let version = 0;

/**
 * A form's module must have every handler and a kind and grammar rule of its own: a form without
 * its builder, check, normal form, metrics, floor or decision would be dropped or misjudged
 * silently, so it is refused here, at start-up (as Chevrotain's validateVisitor refuses a visitor
 * missing a rule's method).
 */
export function validateForms(modules: readonly FormModule[]): void {
  const kinds = new Set<string>();
  const rules = new Set<string>();
  for (const m of modules) {
    const missing: string[] = FORM_HANDLERS.filter((h) => typeof (m as unknown as Record<string, unknown>)[h] !== 'function');
    if (typeof m.grammar?.define !== 'function' || !m.grammar.rule) missing.push('grammar');
    if (missing.length) throw new Error(`prediction form '${m.kind}' has no ${missing.join(', ')}: every form's module needs all of ${[...FORM_HANDLERS, 'grammar'].join(', ')}`);
    if (kinds.has(m.kind)) throw new Error(`two prediction forms have the kind '${m.kind}'`);
    if (rules.has(m.grammar.rule)) throw new Error(`two prediction forms have the grammar rule '${m.grammar.rule}'`);
    kinds.add(m.kind);
    rules.add(m.grammar.rule);
  }
}

/** Every form's module: the built-in table, then any registered ones. */
export function formModules(): FormModule[] {
  return [...(Object.values(FORMS) as FormModule[]), ...registered.values()];
}

validateForms(formModules());

/** Bumped when a form is registered or removed, so the parser is rebuilt for the new grammar. */
export function formsVersion(): number {
  return version;
}

/**
 * Adds a form beside the built-in ones (its kind outside PredictionForm), validated as they are;
 * returns the function that removes it. For tests that show a form needs its module alone.
 */
export function registerForm(m: FormModule): () => void {
  validateForms([...formModules(), m]);
  registered.set(m.kind, m);
  version++;
  return () => {
    if (registered.get(m.kind) === m) {
      registered.delete(m.kind);
      version++;
    }
  };
}

export function formModule<F extends PredictionForm>(form: F): FormModule<F> {
  const m = (FORMS as Record<string, FormModule>)[form.kind] ?? registered.get(form.kind);
  if (!m) throw new Error(`unknown prediction form '${form.kind}'`);
  return m as unknown as FormModule<F>;
}

/** The module whose grammar rule made this CST node, or undefined. */
export function formOfRule(rule: string): FormModule | undefined {
  return formModules().find((m) => m.grammar.rule === rule);
}

/** Every test some form can use. */
export function formTests(): TestName[] {
  return [...new Set(formModules().flatMap((m) => [...m.tests]))];
}

/** The docs' table of forms (docs/verdicts.md holds it between generated-table markers). */
export function formsTableMarkdown(): string {
  const rows = formModules().map((m) => `| ${m.syntax} | ${m.tests.map((t) => `\`${t}\``).join(', ')} | ${m.rule} |`);
  return ['| form | tests | rule |', '| --- | --- | --- |', ...rows].join('\n');
}
