// A user's project with sublab installed the way a user installs it: this checkout packed with
// `npm pack` (which builds dist/ at prepack), the tarball installed into a fresh `git init`ed
// folder with `npm install <tarball>` (registry packages from the local npm cache), then Vitest
// added as a user adds it. Packing and installing take minutes, so it is done once per state of the
// package's sources and shared: by every test in every file (a lock makes concurrent Vitest workers
// wait for the one that installs) and by later `npm test` runs while those sources are unchanged.
//
// Adding a case: call `installedProject()`, then `project.folder('my-case')` for a fresh folder of
// your own inside it (node_modules and the git repository are the project's), and `project.sublab`,
// `project.npx` or `project.exec` there.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What the install of sublab alone (before Vitest is added) took and left behind. */
export interface InstallRecord {
  /** Wall time of `npm install <tarball>`, ms. */
  installMs: number;
  /** Bytes on disk of node_modules after it (what a `command`-runner-only user gets). */
  nodeModulesBytes: number;
  /** Top-level package names in node_modules after it (scoped ones as @scope/name). */
  packages: string[];
  /** Wall time of `npm pack` (with the build), ms. */
  packMs: number;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface InstalledProject {
  dir: string;
  install: InstallRecord;
  /** A fresh, empty folder `name` inside the project (removed first if a previous run left it). */
  folder(name: string): string;
  /** `npx sublab …` in `cwd`. */
  sublab(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Result;
  /** `npx <args>` in `cwd` (the project's own binaries: vitest, sublab). */
  npx(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Result;
  /** Any program, in `cwd`. */
  exec(cwd: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Result;
}

/** Folders of the checkout that never reach the package; anything else may, so it keys the install. */
const notPackaged = /^(tests|bench|reports|experiments|examples|\.ci)\//;

/**
 * sha256 over the files the package is built from (every tracked or untracked, not ignored file
 * outside tests and data) and over this file, which builds the project.
 */
function sourcesKey(): string {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: checkout, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && (!notPackaged.test(f) || f === 'tests/package/project.ts'))
    .sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f + '\0');
    try {
      h.update(fs.readFileSync(path.join(checkout, f)));
    } catch {
      h.update('(deleted)');
    }
  }
  return h.digest('hex').slice(0, 16);
}

const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/**
 * The environment of a user's shell: without what `npm test` (npm_* from this checkout's .npmrc and
 * package.json) and the Vitest running this test (VITEST*) put into ours.
 */
const userEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|VITEST)/i.test(k)));

function run(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeout = 600_000): Result {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...userEnv, ...env }, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(what: string, r: Result): Result {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

function duBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

function topPackages(nodeModules: string): string[] {
  return fs.readdirSync(nodeModules).filter((n) => !n.startsWith('.')).flatMap((n) => (n.startsWith('@') ? fs.readdirSync(path.join(nodeModules, n)).map((s) => `${n}/${s}`) : [n]));
}

/** Pack, make the project, install the tarball, then Vitest (the version this checkout tests with). */
function build(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  let t = performance.now();
  const packed = must('npm pack', run(checkout, 'npm', ['pack', '--pack-destination', dir, '--json', '--loglevel=error']));
  const packMs = performance.now() - t;
  const tarball = path.join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  const proj = path.join(dir, 'project');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2) + '\n');
  fs.writeFileSync(path.join(proj, '.gitignore'), 'node_modules/\n.sublab/\n');
  must('git init', run(proj, 'git', ['init', '-q']));
  t = performance.now();
  must('npm install <tarball>', run(proj, 'npm', ['install', tarball, ...npmFlags]));
  const installMs = performance.now() - t;
  const nm = path.join(proj, 'node_modules');
  const install: InstallRecord = { installMs, packMs, nodeModulesBytes: duBytes(nm), packages: topPackages(nm) };
  const vitest = (JSON.parse(fs.readFileSync(path.join(checkout, 'node_modules/vitest/package.json'), 'utf8')) as { version: string }).version;
  must('npm install vitest', run(proj, 'npm', ['install', '--save-dev', `vitest@${vitest}`, ...npmFlags]));
  fs.writeFileSync(path.join(dir, 'install.json'), JSON.stringify(install, null, 2));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shared project: built by whichever worker takes the lock first, awaited by the others. */
async function prepare(): Promise<{ dir: string; install: InstallRecord }> {
  // One folder per checkout: other checkouts on this machine keep their own projects.
  const base = path.join(os.tmpdir(), 'sublab-package-test', createHash('sha256').update(checkout).digest('hex').slice(0, 8));
  fs.mkdirSync(base, { recursive: true });
  const key = sourcesKey();
  const dir = path.join(base, key);
  const ready = path.join(dir, 'install.json');
  const lock = path.join(base, `${key}.lock`);
  for (;;) {
    if (fs.existsSync(ready)) break;
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another worker is installing; a lock older than 20 min was left by a killed run.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 20 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      await sleep(1000);
      continue;
    }
    try {
      if (!fs.existsSync(ready)) {
        fs.rmSync(dir, { recursive: true, force: true });
        // This checkout's projects of older sources are of no more use.
        for (const old of fs.readdirSync(base)) if (!old.startsWith(key)) fs.rmSync(path.join(base, old), { recursive: true, force: true });
        build(dir);
      }
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  return { dir: path.join(dir, 'project'), install: JSON.parse(fs.readFileSync(ready, 'utf8')) as InstallRecord };
}

let shared: Promise<InstalledProject> | undefined;

export function installedProject(): Promise<InstalledProject> {
  shared ??= prepare().then(({ dir, install }) => {
    const npx = (cwd: string, args: string[], env?: NodeJS.ProcessEnv) => run(cwd, 'npx', ['--no-install', ...args], env);
    return {
      dir,
      install,
      folder(name) {
        const f = path.join(dir, name);
        fs.rmSync(f, { recursive: true, force: true });
        fs.mkdirSync(f, { recursive: true });
        return f;
      },
      npx,
      sublab: (cwd, args, env) => npx(cwd, ['sublab', ...args], env),
      exec: (cwd, cmd, args, env) => run(cwd, cmd, args, env),
    };
  });
  return shared;
}
