import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/language/parse.ts';
import { compileFile } from '../../src/language/compile.ts';
import type { Prediction } from '../../src/language/ast.ts';
import { normalisePrediction, predictionHash, setupHash, sha256 } from '../../src/prereg/normalise.ts';

function predictions(src: string): Prediction[] {
  const { ast, diagnostics } = parseSource(src, 'x.exp');
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return ast.experiments[0]!.predictions;
}

const exp = (body: string) => `experiment "e" {\n  runner superposition\n${body}\n}\n`;

describe('normalised prediction text', () => {
  it('prints the prediction canonically from the AST', () => {
    const [a, b, c] = predictions(
      exp(`  predict   teacher_loss    <  1e-3   where sparsity<=0.5 and steps = 200
  predict transfer_ratio increases with sparsity because "x"
  predict transfer_ratio at sparsity = 0.9 > transfer_ratio at sparsity = 0`),
    );
    expect(normalisePrediction(a!)).toBe('predict teacher_loss < 0.001 where sparsity <= 0.5 and steps = 200');
    expect(normalisePrediction(b!)).toBe('predict transfer_ratio increases with sparsity');
    expect(normalisePrediction(c!)).toBe('predict transfer_ratio at sparsity = 0.9 > transfer_ratio at sparsity = 0');
    expect(predictionHash(a!)).toBe(sha256(normalisePrediction(a!)));
  });

  it('keeps the hash through comment, whitespace and number-spelling edits', () => {
    const [a] = predictions(exp('  predict teacher_loss < 0.001 where sparsity <= 0.5'));
    const [b] = predictions(exp('  // a comment\n  predict teacher_loss\n     <  1e-3   # trailing comment\n     where sparsity <= 5e-1'));
    const [c] = predictions(exp('  predict teacher_loss < 1.0e-3 where sparsity <= 0.50'));
    expect(predictionHash(b!)).toBe(predictionHash(a!));
    expect(predictionHash(c!)).toBe(predictionHash(a!));
  });

  it('changes the hash when the meaning changes', () => {
    const base = predictionHash(predictions(exp('  predict transfer_ratio > 0.2'))[0]!);
    expect(predictionHash(predictions(exp('  predict transfer_ratio > 0.3'))[0]!)).not.toBe(base);
    expect(predictionHash(predictions(exp('  predict transfer_ratio >= 0.2'))[0]!)).not.toBe(base);
    expect(predictionHash(predictions(exp('  predict transfer_ratio > 0.2 where sparsity = 0'))[0]!)).not.toBe(base);
    expect(predictionHash(predictions(exp('  predict child_loss > 0.2'))[0]!)).not.toBe(base);
  });

  it('ignores the order of where conditions and the because text', () => {
    const [a] = predictions(exp('  predict transfer_ratio > 0.2 where sparsity = 0 and steps = 10 because "one reason"'));
    const [b] = predictions(exp('  predict transfer_ratio > 0.2 where steps = 10 and sparsity = 0 because "another reason"'));
    expect(predictionHash(a!)).toBe(predictionHash(b!));
  });

  it('treats a bare symbol and a quoted string as the same value', () => {
    const [a] = predictions(exp('  predict transfer_ratio > 0.2 where variant = ablated'));
    const [b] = predictions(exp('  predict transfer_ratio > 0.2 where variant = "ablated"'));
    expect(normalisePrediction(a!)).toBe('predict transfer_ratio > 0.2 where variant = "ablated"');
    expect(predictionHash(a!)).toBe(predictionHash(b!));
  });
});

describe('setup hash', () => {
  const compile = (body: string) => {
    const r = compileFile('/virtual/setup.exp', { source: exp(body) });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return r.experiments[0]!;
  };
  const base = '  set steps = 200\n  sweep sparsity in [0, 0.5]\n  seeds 3\n  predict transfer_ratio > 0.2';

  it('is stable across spelling and changes with the setup', () => {
    const h = setupHash(compile(base));
    expect(setupHash(compile('  set steps = 2e2\n  // comment\n  sweep sparsity in [0, 5e-1]\n  seeds 3\n  predict transfer_ratio > 0.2'))).toBe(h);
    expect(setupHash(compile(base.replace('steps = 200', 'steps = 300')))).not.toBe(h);
    expect(setupHash(compile(base.replace('[0, 0.5]', '[0, 0.5, 0.9]')))).not.toBe(h);
    expect(setupHash(compile(base.replace('seeds 3', 'seeds 4')))).not.toBe(h);
    expect(setupHash(compile(base + '\n  alpha 0.01'))).not.toBe(h);
    expect(setupHash(compile(base + '\n  correction bonferroni'))).not.toBe(h);
  });

  it('sha256 is the standard one', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
