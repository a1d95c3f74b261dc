import { describe, expect, it } from 'vitest';
import { closest, damerau, suggest } from '../../src/language/suggest.ts';

describe('did you mean', () => {
  it('optimal string alignment distance on known pairs', () => {
    expect(damerau('kitten', 'sitting')).toBe(3);
    expect(damerau('ca', 'ac')).toBe(1); // one transposition
    expect(damerau('', 'abc')).toBe(3);
    expect(damerau('weigth_decay', 'weight_decay')).toBe(1);
    expect(damerau('same', 'same')).toBe(0);
  });

  it('suggests within distance 2 or by prefix, and nothing when far', () => {
    const names = ['student_acc', 'cross_model_acc', 'teacher_acc'];
    expect(closest('studnt_acc', names)).toBe('student_acc');
    expect(closest('cross', names)).toBe('cross_model_acc');
    expect(closest('banana', names)).toBeUndefined();
    expect(suggest('teacher_ac', names)).toBe(' (did you mean "teacher_acc"?)');
    expect(suggest('zzz', names)).toBe('');
  });
});
