// Limits on what one experiment may expand to, so a typo (`seeds 10000000`, a 10⁶-point grid)
// is an error at once instead of minutes of silence and an out-of-memory crash.

/** The random generators take 32-bit seeds: every seed must be an integer in [0, MAX_SEED]. */
export const MAX_SEED = 2 ** 32 - 1;

/** Default most runs one experiment may plan; $SUBLAB_MAX_RUNS raises (or lowers) it. */
export const DEFAULT_MAX_RUNS = 100_000;

export function maxRuns(): number {
  const v = Number(process.env.SUBLAB_MAX_RUNS);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_MAX_RUNS;
}

/** Why a plan of `points` sweep points × `seeds` seeds is too big, or undefined. */
export function runCountProblem(points: number, seeds: number): string | undefined {
  const n = points * seeds;
  const limit = maxRuns();
  if (n <= limit) return undefined;
  return `this expands to ${n.toLocaleString('en-US')} runs (${points.toLocaleString('en-US')} sweep point${points === 1 ? '' : 's'} × ${seeds.toLocaleString('en-US')} seed${seeds === 1 ? '' : 's'}), more than the limit of ${limit.toLocaleString('en-US')}; set SUBLAB_MAX_RUNS to allow more`;
}

/** Why seeds base .. base + count - 1 are not all valid 32-bit seeds, or undefined. */
export function seedProblem(base: number, count: number): string | undefined {
  if (!Number.isSafeInteger(base) || base < 0) return `seed must be a whole number between 0 and ${MAX_SEED}, got ${base}`;
  const last = base + count - 1;
  if (last > MAX_SEED) {
    return count > 1
      ? `seeds ${base} to ${last} go past ${MAX_SEED}, the largest seed the random generators take (seeds are 32-bit; larger ones would repeat smaller ones)`
      : `seed ${base} is larger than ${MAX_SEED}, the largest seed the random generators take (seeds are 32-bit; larger ones would repeat smaller ones)`;
  }
  return undefined;
}
