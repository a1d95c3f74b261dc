// The templates rendered on a fixed, hand-made result set, compared with committed golden files.
// Regenerate after an intended template change: UPDATE_GOLDEN=1 npx vitest run --project unit tests/report
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport, type Format } from '../../src/report/render.ts';
import { fixtureModel, here } from './fixture.ts';

const update = process.env.UPDATE_GOLDEN === '1';

describe('report templates against golden files', () => {
  for (const format of ['md', 'html', 'tex'] as Format[]) {
    it(`${format}`, async () => {
      // The HTML golden is rendered without SVG (charts.test.ts checks the SVG itself).
      const model = await fixtureModel({ svg: false });
      const files = renderReport(model, format);
      expect([...files.keys()]).toEqual([`sparsity-superposition-100-toy-model.${format}`]);
      const text = [...files.values()][0]!;
      const golden = path.join(here, 'golden', `fixture.${format}`);
      if (update) writeFileSync(golden, text);
      expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1 once and commit it`).toBe(true);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });
  }
});
