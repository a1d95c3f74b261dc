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

/** GitHub-flavoured markdown, safe inside table cells: one line, `|` escaped, inline markup neutralised. */
export function escapeMarkdown(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\\`*_[\]<>|~&]/g, (c) => {
    switch (c) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      default:
        return '\\' + c;
    }
  });
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
};

/** LaTeX text mode, pdflatex-safe for the characters sublab itself prints. */
export function escapeLatex(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\\&%$#_{}~^<>|±−≤≥≠∞ρ×—–✅❌❔]/gu, (c) => latex[c]!);
}

const escapers: Record<Format, (s: string) => string> = { md: escapeMarkdown, html: escapeHtml, tex: escapeLatex };
const rawKeys: Record<Format, ReadonlySet<string>> = { md: new Set(['ascii']), html: new Set(['svg']), tex: new Set() };

/** Deep copy with every string escaped for `format` (raw keys excepted). */
export function escapeModel<T>(value: T, format: Format, key = ''): T {
  if (typeof value === 'string') return (rawKeys[format].has(key) ? value : escapers[format](value)) as T;
  if (Array.isArray(value)) return value.map((v) => escapeModel(v, format)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = escapeModel(v, format, k);
    return out as T;
  }
  return value;
}

function templateDirFor(format: Format, userDir?: string): string {
  if (userDir) {
    if (!existsSync(userDir)) throw new Error(`template directory "${userDir}" does not exist`);
    const dir = path.join(userDir, format);
    if (existsSync(path.join(dir, 'report.hbs'))) return dir;
  }
  return path.join(builtinTemplates, format);
}

/**
 * A renderer for one format: `<dir>/<format>/report.hbs` is the page, every other `.hbs` in that
 * folder a partial named after its file. A user directory lacking a format falls back to the
 * built-in templates for it.
 */
export function loadTemplate(format: Format, userDir?: string): (ctx: unknown) => string {
  const dir = templateDirFor(format, userDir);
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('inc', (i: number) => i + 1);
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.hbs') && f !== 'report.hbs') hb.registerPartial(f.slice(0, -4), readFileSync(path.join(dir, f), 'utf8'));
  }
  const file = path.join(dir, 'report.hbs');
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
