import { describe, it, beforeAll } from 'vitest';
import { expFile } from "sublab/vitest/runtime";
const exp = expFile("tests/vitest/fixtures/exp/refuted.exp", {});
beforeAll(() => exp.run(), 86400000);
describe("tiny superposition", () => {
  it(exp.title(0, 0, "predict teacher_loss > 0"), (ctx) => { const r = exp.judge(0, 0); if (r.kind === 'skip') ctx.skip(r.note); if (r.kind === 'fail') throw Object.assign(new Error(r.message), { name: r.name }); }, 10000);
  it(exp.title(0, 1, "predict teacher_loss < 0"), (ctx) => { const r = exp.judge(0, 1); if (r.kind === 'skip') ctx.skip(r.note); if (r.kind === 'fail') throw Object.assign(new Error(r.message), { name: r.name }); }, 10000);
});
