// Generated files are committed; they must equal what their generators produce now.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cstDtsText, diagramHtml } from '../../grammar/generate-cst-dts.ts';
import { runnersReference, runnersDocPath } from '../../scripts/generate-reference.ts';

const root = join(import.meta.dirname, '..', '..');

describe('generated files are up to date', () => {
  it('grammar/cst.d.ts (npm run gen:cst)', () => {
    expect(readFileSync(join(root, 'grammar/cst.d.ts'), 'utf8')).toBe(cstDtsText());
  });
  it('grammar/diagram.html (npm run gen:cst)', () => {
    expect(readFileSync(join(root, 'grammar/diagram.html'), 'utf8')).toBe(diagramHtml());
  });
  it('docs/runners.md (npm run gen:docs)', () => {
    const doc = readFileSync(runnersDocPath, 'utf8');
    expect(doc).toBe(runnersReference());
    expect(doc).toContain('| `weight_decay` | number (>= 0) | `0` |');
  });
});
