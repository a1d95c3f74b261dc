// Random mutations of valid files (deleted, duplicated, swapped tokens, random bytes): the parser
// and checker must never throw, and every diagnostic must point at a real line and column.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExpLexer } from '../../grammar/tokens.ts';
import { parseSource } from '../../src/language/parse.ts';
import { compileFile } from '../../src/language/compile.ts';
import { Rng } from '../../src/util/random.ts';

const here = import.meta.dirname;
const design = join(here, '..', 'fixtures', 'design');
const validDir = join(here, 'cases', 'valid');
const seeds: string[] = [
  ...readdirSync(design).map((f) => readFileSync(join(design, f), 'utf8')),
  ...readdirSync(validDir).map((d) => readFileSync(join(validDir, d, 'input.exp'), 'utf8')),
];
const baseline = readFileSync(join(design, 'baseline.exp'), 'utf8');
/** FUZZ_ITERATIONS=50000 for a longer hunt; CI uses the default. */
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 2000);
const fuzzSeed = Number(process.env.FUZZ_SEED ?? 20261122);

type Piece = { text: string };

/** A source as alternating [gap, token, gap, token, ..., gap] pieces, so mutations keep layout. */
const pieceCache = new Map<string, Piece[]>();
function pieces(src: string): Piece[] {
  let p = pieceCache.get(src);
  if (!p) {
    p = [];
    let last = 0;
    for (const t of ExpLexer.tokenize(src).tokens) {
      p.push({ text: src.slice(last, t.startOffset) }, { text: t.image });
      last = t.startOffset + t.image.length;
    }
    p.push({ text: src.slice(last) });
    pieceCache.set(src, p);
  }
  return p;
}

function mutate(src: string, rnd: () => number): string {
  const toks = [...pieces(src)];
  const tokIdx = () => 1 + 2 * Math.floor(rnd() * Math.max(1, (toks.length - 1) / 2));
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n && toks.length > 2; k++) {
    const op = Math.floor(rnd() * 5);
    const i = Math.min(tokIdx(), toks.length - 1);
    const j = Math.min(tokIdx(), toks.length - 1);
    if (op === 0) toks[i] = { text: '' }; // delete a token
    else if (op === 1) toks.splice(i, 0, { text: toks[i]!.text + ' ' }); // duplicate
    else if (op === 2) [toks[i], toks[j]] = [toks[j]!, toks[i]!]; // swap
    else if (op === 3) {
      // random bytes, including control characters and non-ASCII
      const bytes = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => String.fromCharCode(Math.floor(rnd() * 0x3000)));
      toks.splice(i, 0, { text: bytes.join('') });
    } else {
      // truncate
      toks.length = i;
    }
  }
  return toks.map((t) => t.text).join('');
}

describe('fuzz', () => {
  it(`parser and checker never throw on ${iterations} mutated inputs; diagnostics are located`, () => {
    const rng = Rng.mulberry32(fuzzSeed);
    const rnd = () => rng.next();
    let withErrors = 0;
    // Problems are collected and asserted once: expect() in a 2000-iteration loop costs seconds.
    const problems: string[] = [];
    for (let iter = 0; iter < iterations; iter++) {
      const src = mutate(seeds[iter % seeds.length]!, rnd);
      try {
        const parsed = parseSource(src, 'fuzz.exp');
        if (!Array.isArray(parsed.ast.experiments)) problems.push(`no AST for ${JSON.stringify(src)}`);
        const compiled = compileFile('fuzz.exp', {
          source: src,
          readFile: (p) => {
            if (p === 'baseline.exp') return baseline;
            if (p === 'base.exp' || p === 'fuzz.exp') return src;
            throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
          },
        });
        // Either a valid file (checked experiments, no errors) or diagnostics.
        if (compiled.diagnostics.some((d) => d.severity === 'error')) {
          withErrors++;
          if (compiled.experiments.length) problems.push(`experiments despite errors: ${JSON.stringify(src)}`);
        } else if (compiled.experiments.length !== parsed.ast.experiments.length) {
          problems.push(`no errors but experiments missing: ${JSON.stringify(src)}`);
        }
        for (const d of [...parsed.diagnostics, ...compiled.diagnostics]) {
          const ok = Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.column) && d.column >= 1 && d.length >= 1 && d.message.length > 0 && d.code !== 'internal';
          if (!ok) problems.push(`bad diagnostic ${JSON.stringify(d)} for ${JSON.stringify(src)}`);
        }
      } catch (err) {
        problems.push(`threw ${(err as Error).stack} on ${JSON.stringify(src)}`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    // The mutations must actually break most inputs, or the test proves little.
    expect(withErrors).toBeGreaterThan(iterations / 2);
  });
});
