// `sublab init [DIR]`: scaffold a first experiment in a user's project — an .exp file with a
// standard-library Python program for the `command` runner, a vitest.config.ts using the plugin,
// and `.sublab/` in .gitignore — then print the commands that take it from check to a committed
// registration and a run. The files come from src/init/template/ (names: `__name__` is the
// experiment folder, a `.tmpl` suffix is dropped; text: `{{name}}`, `{{file}}`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, flag, text, type CommandSpec } from './args.ts';
import { UsageError } from './command.ts';
import { inGitWorkTree } from '../prereg/git.ts';
import { shellQuote } from '../exec/slurm.ts';

export const templateDir = fileURLToPath(new URL('../init/template/', import.meta.url));

const spec = {
  name: 'init',
  synopsis: '[DIR] [--name NAME] [--force]',
  summary: 'scaffold an experiment (an .exp with a Python program), vitest.config.ts and .gitignore entries',
  description: `Writes into DIR (default: the current folder), the root of your project:
  experiments/NAME/example.exp   an experiment run by the \`command\` runner
  experiments/NAME/train.py      the program it runs (Python, standard library only)
  vitest.config.ts               runs every experiments/**/*.exp as a test file (sublab/vitest)
  .gitignore                     gets a \`.sublab/\` line (the result cache), added if missing
then prints the next commands: check, register, commit the lock, run, vitest.
Files that exist are not overwritten (nothing is written) unless --force is given.`,
  options: {
    name: {
      ...text('NAME', 'the experiment folder under experiments/ (default: example)'),
      parse: (t: string, f: string) => {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t)) throw new UsageError(`${f} expects a folder name (letters, digits, _ . -), got "${t}"`);
        return t;
      },
    },
    force: flag('overwrite files that exist (.gitignore is only ever appended to)'),
  },
  footer: 'exit status: 0 written; 1 a file exists (nothing written); 2 usage error.',
  positionals: { max: 1, extra: 'give at most one folder' },
} satisfies CommandSpec;

interface Planned {
  /** Where it goes, absolute. */
  to: string;
  text: string;
}

/** Every template file (relative, `/`-separated), in a stable order. */
function templateFiles(dir = templateDir, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => (d.isDirectory() ? templateFiles(path.join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`]));
}

/** The files `init` writes into `root` for experiment folder `name` (pure but for reading the template). */
export function plannedFiles(root: string, name: string): Planned[] {
  return templateFiles().map((rel) => {
    const out = rel.replace(/__name__/g, name).replace(/\.tmpl$/, '');
    const to = path.join(root, ...out.split('/'));
    const expFile = `experiments/${name}/example.exp`;
    const textOut = fs.readFileSync(path.join(templateDir, ...rel.split('/')), 'utf8').replace(/\{\{name\}\}/g, name).replace(/\{\{file\}\}/g, expFile);
    return { to, text: textOut };
  });
}

/** Vitest or Vite configs that a new vitest.config.ts would shadow or clash with. */
const CONFIGS = ['vitest.config', 'vite.config'].flatMap((b) => ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((e) => `${b}.${e}`));

/** `.sublab/` unless .gitignore already ignores it; the new text of .gitignore, or null. */
export function gitignoreWithSublab(current: string | null): string | null {
  const lines = (current ?? '').split(/\r?\n/).map((l) => l.trim());
  if (lines.some((l) => /^\/?\.sublab\/?(\*\*?)?$/.test(l))) return null;
  const lead = current && !current.endsWith('\n') ? '\n' : '';
  return `${current ?? ''}${lead}# sublab: result cache and results ledger\n.sublab/\n`;
}

export const command = defineCommand(spec, ({ values, positionals }) => {
  const root = path.resolve(positionals[0] ?? '.');
  const name = values.name ?? 'example';
  if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) throw new UsageError(`${positionals[0]} is not a folder`);
  const files = plannedFiles(root, name);
  const cwd = process.cwd();
  const shown = (p: string) => path.relative(cwd, p) || '.';

  // Refuse before writing anything: a half-written scaffold is worse than none.
  const exists = files.filter((f) => fs.existsSync(f.to)).map((f) => f.to);
  const config = files.find((f) => path.basename(f.to) === 'vitest.config.ts')!;
  const otherConfigs = CONFIGS.map((c) => path.join(root, c)).filter((c) => c !== config.to && fs.existsSync(c));
  if (!values.force && (exists.length || otherConfigs.length)) {
    const lines = [...exists.map((f) => `  ${shown(f)} exists`), ...otherConfigs.map((c) => `  ${shown(c)} exists (a new vitest.config.ts would take its place for Vitest)`)];
    process.stderr.write(`sublab init: error: nothing written:\n${lines.join('\n')}\n`);
    process.stderr.write(`Choose another --name, or --force to overwrite. To add the plugin to your own config instead:\n  import { sublabExp } from 'sublab/vitest';\n  plugins: [sublabExp()], test: { include: ['experiments/**/*.exp'], hookTimeout: 24 * 3600_000 }\n`);
    return 1;
  }

  const written: string[] = [];
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.to), { recursive: true });
    fs.writeFileSync(f.to, f.text);
    written.push(shown(f.to));
  }
  const ignore = path.join(root, '.gitignore');
  const current = fs.existsSync(ignore) ? fs.readFileSync(ignore, 'utf8') : null;
  const next = gitignoreWithSublab(current);
  if (next !== null) {
    fs.writeFileSync(ignore, next);
    written.push(`${shown(ignore)} (${current === null ? 'created, ' : ''}.sublab/ added)`);
  }

  // The commands, run from the project root.
  const exp = `experiments/${name}/example.exp`;
  const steps: [string, string][] = [];
  if (path.relative(cwd, root) !== '') steps.push([`cd ${shellQuote(shown(root))}`, '']);
  if (!inGitWorkTree(root)) steps.push(['git init', 'preregistration needs git to prove predictions came first']);
  steps.push(
    [`npx sublab check ${exp}`, 'the file is valid'],
    [`npx sublab register ${exp}`, 'lock the predictions in sublab.lock'],
    [`git add experiments/${name} && git commit -m "Preregister ${name}"`, 'commit the lock (and the experiment) before running'],
    [`npx sublab run ${exp}`, 'run train.py and judge the predictions'],
    ['npx vitest run', 'the same as tests (needs vitest: npm install -D vitest)'],
  );
  const width = Math.max(...steps.filter(([, c]) => c).map(([s]) => s.length));
  process.stdout.write(`Created:\n${written.map((w) => `  ${w}`).join('\n')}\n\nNext:\n`);
  for (const [s, c] of steps) process.stdout.write(`  ${c ? `${s.padEnd(width)}  # ${c}` : s}\n`);
  process.stdout.write(`\nsublab register prints the exact git command for your repository; sublab run stops while\nregistered predictions are not committed (results computed first would make them exploratory).\n`);
  return 0;
});
