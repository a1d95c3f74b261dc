// The language's design examples (the files in tests/fixtures/design) parse, check, and mean what they say;
// and every .exp file under experiments/ passes the checker.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';

const root = join(import.meta.dirname, '..', '..');
const design = (n: string) => relative(process.cwd(), join(root, 'tests/fixtures/design', n));

describe('design examples (tests/fixtures/design)', () => {
  it('baseline.exp', () => {
    const r = compileFile(design('baseline.exp'));
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect([e.name, e.runner.name, e.seeds, e.alpha, e.correction]).toEqual(['baseline', 'mlp_distill', 25, 0.05, 'holm']);
    expect(e.params).toMatchObject({ dataset: 'mnist', hidden: 256, lr: 3e-4, batch_size: 1024, distill_data: 'uniform' });
    expect(e.predictions.map((p) => p.form.kind)).toEqual(['compare', 'compare', 'compare']);
    expect(e.predictions[0]!.because?.value).toMatch(/^shared initialisation/);
    expect(e.measures).toContain('cross_model_acc');
  });

  it('weight-decay.exp extends baseline.exp', () => {
    const r = compileFile(design('weight-decay.exp'));
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.seeds).toBe(25);
    expect(e.sweeps).toEqual([{ name: 'weight_decay', values: [0, 1e-4, 1e-3, 1e-2, 0.1] }]);
    expect(e.predictions.map((p) => p.text)).toEqual([
      'predict student_acc decreases with weight_decay because "L2 shrinks the shared weights that carry the cross-head signal"',
      'predict student_acc > cross_model_acc where weight_decay = 0',
      'predict teacher_acc > 0.9 where weight_decay <= 1e-3',
    ]);
  });

  it('learning-rate.exp sweeps the inherited lr', () => {
    const r = compileFile(design('learning-rate.exp'));
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.sweeps).toEqual([{ name: 'lr', values: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2] }]);
    expect(e.explicit).not.toContain('lr');
    expect(e.predictions.map((p) => p.form.kind)).toEqual(['peak', 'compare']);
  });

  it('owl.exp', () => {
    const r = compileFile(design('owl.exp'));
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.runner.seeded).toBe(false);
    expect(e.predictions[0]!.forEach.map((i) => i.name)).toEqual(['animal']);
    expect(e.predictions[1]!.form).toMatchObject({ kind: 'correlates', direction: 'positively' });
  });
});

function expFiles(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.exp')).map((f) => join(dir, f)).sort();
  } catch {
    return [];
  }
}

const experiments = expFiles(join(root, 'experiments'));

describe('experiments/**/*.exp pass the checker', () => {
  if (experiments.length === 0) it.skip('no .exp files under experiments/ yet', () => {});
  for (const file of experiments) {
    it(relative(root, file), () => {
      const r = compileFile(relative(process.cwd(), file));
      expect(formatDiagnostics(r)).toBe('');
    });
  }
});
