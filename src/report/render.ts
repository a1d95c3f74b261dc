// Handlebars rendering. Every string of the model is escaped for the target format *before* the
// template sees it, and templates are compiled with noEscape, so a template (built-in or a user's)
// cannot forget to escape, nor escape twice. Only the chart fields a format embeds verbatim
// (markdown's ASCII code block, HTML's SVG) are passed through raw.
import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExperimentReport, ReportModel } from './model.ts';

export type Format = 'md' | 'html' | 'tex';
export const formats: readonly Format[] = ['md', 'html', 'tex'];
export const extensions: Record<Format, string> = { md: 'md', html: 'html', tex: 'tex' };

export const builtinTemplates = fileURLToPath(new URL('./templates/', import.meta.url));

/**
 * GitHub-flavoured markdown prose, safe inside table cells: one line, `|` escaped, inline markup
 * neutralised, but only where markdown would act on a character, so the raw file reads as it
 * renders: `_` inside a word (`teacher_acc`), `<` before a space or digit (`p < 0.001`), `&` not
 * starting an entity, and `[0.5, 0.9]` stay as they are.
 */
export function escapeMarkdown(s: string): string {
  const t = s.replace(/\r?\n/g, ' ');
  const word = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    const next = t[i + 1];
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '|':
      case '~':
        out += '\\' + c;
        break;
      case '_':
        // Intraword `_` never opens or closes emphasis.
        out += word(t[i - 1]) && word(next) ? c : '\\' + c;
        break;
      case '<':
        // Only `<` + letter, `/`, `!` or `?` can start raw HTML or an autolink.
        out += next !== undefined && /[A-Za-z/!?]/.test(next) ? '\\<' : c;
        break;
      case '&':
        out += /^&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);/.test(t.slice(i)) ? '\\&' : c;
        break;
      case '[':
        // A link needs `](` or `][`; a reference definition starts a line (`[x]: url`).
        out += i === 0 ? '\\[' : c;
        break;
      case ']':
        out += next === '(' || next === '[' || next === ':' ? '\\]' : c;
        break;
      case '>':
      case '#':
        // Block quote or heading only where the string starts a line; a heading's closing `#`s.
        out += i === 0 || (c === '#' && i === t.length - 1) ? '\\' + c : c;
        break;
      case '-':
      case '+':
      case '=':
        // A list item or setext underline, where the string starts a line.
        out += i === 0 && (next === undefined || next === ' ') ? '\\' + c : c;
        break;
      default:
        out += c;
    }
  }
  // "1. x" at the start of a line would be an ordered list.
  return out.replace(/^(\d{1,9})([.)])( |$)/, '$1\\$2$3');
}

/**
 * A markdown code span holding `s` verbatim: a backtick run longer than any inside it, padded
 * when the content starts or ends with a backtick, one line. `|` is escaped (GFM table cells
 * split on it even inside code spans), with any backslashes before it doubled so the escape
 * is not consumed.
 */
export function codeSpanMarkdown(s: string): string {
  const t = s.replace(/\r?\n/g, ' ').replace(/(\\*)\|/g, (_m, bs: string) => `${bs}${bs}\\|`);
  if (t === '') return '';
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || (t.startsWith(' ') && t.endsWith(' ') && t.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const latex: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  '±': '$\\pm$',
  '−': '$-$',
  '≤': '$\\leq$',
  '≥': '$\\geq$',
  '≠': '$\\neq$',
  '∞': '$\\infty$',
  'ρ': '$\\rho$',
  '×': '$\\times$',
  '—': '---',
  '–': '--',
  '✅': '',
  '❌': '',
  '❔': '',
  // Mathematical characters found in rationales and metric descriptions (`1/28 ≈ 0.036`, ‖W‖²).
  '≈': '$\\approx$',
  '∼': '$\\sim$',
  '∝': '$\\propto$',
  '∈': '$\\in$',
  '→': '$\\rightarrow$',
  '←': '$\\leftarrow$',
  '↔': '$\\leftrightarrow$',
  '⇒': '$\\Rightarrow$',
  '‖': '$\\|$',
  '′': '$\'$',
  '√': '$\\surd$',
  '∑': '$\\sum$',
  '·': '$\\cdot$',
  '²': '$^2$',
  '³': '$^3$',
  'ᵀ': '$^{\\top}$',
};
const greek: Record<string, string> = {
  α: 'alpha', β: 'beta', γ: 'gamma', δ: 'delta', ε: 'epsilon', ζ: 'zeta', η: 'eta', θ: 'theta', ι: 'iota', κ: 'kappa',
  λ: 'lambda', μ: 'mu', ν: 'nu', ξ: 'xi', π: 'pi', σ: 'sigma', τ: 'tau', υ: 'upsilon', φ: 'phi', χ: 'chi', ψ: 'psi', ω: 'omega',
  Γ: 'Gamma', Δ: 'Delta', Θ: 'Theta', Λ: 'Lambda', Ξ: 'Xi', Π: 'Pi', Σ: 'Sigma', Φ: 'Phi', Ψ: 'Psi', Ω: 'Omega',
};
for (const [c, name] of Object.entries(greek)) latex[c] ??= `$\\${name}$`;

/**
 * LaTeX text mode, pdflatex-safe: TeX's specials, the symbols sublab prints, Greek letters. Other
 * characters pdflatex's utf8 input cannot typeset (symbols, arrows, emoji: U+0370 and up outside
 * general punctuation) become `[U+XXXX]` rather than an error that stops the document.
 */
export function escapeLatex(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\\&%$#_{}~^<>|\u00a0-\u{10ffff}]/gu, (c) => {
    const m = latex[c];
    if (m !== undefined) return m;
    const cp = c.codePointAt(0)!;
    // Latin-1, Latin Extended and general punctuation (’ “ ” … •) are known to pdflatex's utf8.
    if (cp < 0x370 || (cp >= 0x1e00 && cp < 0x1f00) || (cp >= 0x2000 && cp < 0x2070) || cp === 0x20ac) return c;
    return `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
  });
}

/** An identifier or prediction in LaTeX: `\texttt`, breakable after `_`, `,` and `=`. */
export function codeLatex(s: string): string {
  if (s === '') return '';
  return `\\texttt{${escapeLatex(s).replace(/(\\_|,|=|\/|-)/g, '$1\\allowbreak{}')}}`;
}

/**
 * Text for inside a markdown code fence: a run of three or more backticks (which could close the
 * fence and let what follows through as raw markdown or HTML) becomes as many ˋ (U+02CB).
 */
export function fenceSafe(s: string): string {
  return s.replace(/`{3,}/g, (m) => '\u02cb'.repeat(m.length));
}

const escapers: Record<Format, (s: string) => string> = { md: escapeMarkdown, html: escapeHtml, tex: escapeLatex };
const rawKeys: Record<Format, ReadonlySet<string>> = { md: new Set(['ascii']), html: new Set(['svg']), tex: new Set() };

/**
 * Fields holding identifiers or prediction texts, by path (array indices left out; a one-segment
 * entry matches that key at any depth). Markdown gets them as code spans and LaTeX as `\texttt`,
 * so the raw markdown reads as it renders; HTML templates put them in `<code>` themselves.
 */
export const codePaths: readonly string[] = [
  'file',
  'runner',
  'confirmatory.text',
  'exploratory.text',
  'predictions.text',
  'setup.name',
  'setup.value',
  'defaults.name',
  'defaults.value',
  'sweeps.name',
  'sweeps.value',
  'sweepTable.axes',
  'sweepTable.metrics',
  'sweepTableParts.axes',
  'sweepTableParts.metrics',
  'byMetric.metric',
  'notComputed',
  'charts.metric',
  'charts.param',
  'figures.metric',
  'figures.param',
  'setupLine',
];
const coders: Partial<Record<Format, (s: string) => string>> = { md: codeSpanMarkdown, tex: codeLatex };

/**
 * A line of text with markdown code spans (a README heading such as "runner `mlp_distill`") for
 * `format`: the spans as code (`\texttt`, `<code>`, a code span), the rest escaped. `plain`: the
 * spans' backticks dropped instead (an HTML <title>, a LaTeX comment).
 */
export function inlineCode(s: string, format: Format, plain = false): string {
  const code = (t: string) => (plain ? escapers[format](t) : format === 'html' ? `<code>${escapeHtml(t)}</code>` : coders[format]!(t));
  return s.split(/`([^`]+)`/).map((part, i) => (i % 2 === 1 ? code(part) : escapers[format](part))).join('');
}

function isCode(p: string): boolean {
  return codePaths.some((c) => p === c || p.endsWith('.' + c));
}

/** Deep copy with every string escaped for `format` (raw keys excepted; code paths as code). */
export function escapeModel<T>(value: T, format: Format, key = '', at = ''): T {
  if (typeof value === 'string') {
    if (rawKeys[format].has(key)) return (format === 'md' ? fenceSafe(value) : value) as T;
    const coder = coders[format];
    return (coder && isCode(at) ? coder(value) : escapers[format](value)) as T;
  }
  // Array items keep their parent's key and path (sweepTable.metrics[2] is at "sweepTable.metrics").
  if (Array.isArray(value)) return value.map((v) => escapeModel(v, format, key, at)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = escapeModel(v, format, k, at ? `${at}.${k}` : k);
    return out as T;
  }
  return value;
}

function templateDirFor(format: Format, userDir?: string, page = 'report'): string {
  if (userDir) {
    if (!existsSync(userDir)) throw new Error(`template directory "${userDir}" does not exist`);
    const dir = path.join(userDir, format);
    if (existsSync(path.join(dir, `${page}.hbs`))) return dir;
  }
  return path.join(builtinTemplates, format);
}

/**
 * A renderer for one format: `<dir>/<format>/report.hbs` (or `writeup.hbs`, the page of `sublab
 * writeup`) is the page, every other `.hbs` in that folder a partial named after its file. A user
 * directory lacking a format's page falls back to the built-in templates for it.
 */
export function loadTemplate(format: Format, userDir?: string, page: 'report' | 'writeup' = 'report'): (ctx: unknown) => string {
  const dir = templateDirFor(format, userDir, page);
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('inc', (i: number) => i + 1);
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.hbs') && f !== 'report.hbs' && f !== 'writeup.hbs') hb.registerPartial(f.slice(0, -4), readFileSync(path.join(dir, f), 'utf8'));
  }
  const file = path.join(dir, `${page}.hbs`);
  const source = readFileSync(file, 'utf8');
  let template: HandlebarsTemplateDelegate;
  try {
    template = hb.compile(source, { noEscape: true, strict: false });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return (ctx) => {
    try {
      return template(ctx);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  };
}

/** One experiment's report in one format. */
export function renderExperiment(model: ReportModel, experiment: ExperimentReport, format: Format, userDir?: string): string {
  const template = loadTemplate(format, userDir);
  const ctx = escapeModel({ sublabVersion: model.sublabVersion, generatedAt: model.generatedAt, ...experiment }, format);
  return template(ctx);
}

/** Every experiment of the model: `<slug>.<ext>` → text. */
export function renderReport(model: ReportModel, format: Format, userDir?: string): Map<string, string> {
  const template = loadTemplate(format, userDir);
  const out = new Map<string, string>();
  for (const e of model.experiments) {
    const ctx = escapeModel({ sublabVersion: model.sublabVersion, generatedAt: model.generatedAt, ...e }, format);
    out.set(`${e.slug}.${extensions[format]}`, template(ctx));
  }
  return out;
}
