// One child of the `--jobs` pool (pool.ts). Reads its ChildConfig as the first stdin line, plans the
// file as the parent did, computes its share, then helps with whatever nobody has started, plan by
// plan; reports each settled run as an event line on stdout. Exits when done, on SIGINT/SIGTERM
// (releasing its claims through the cache's exit hook) or when the parent goes away (stdin closes).
import { ResultCache } from './cache.ts';
import { executePlan } from './executor.ts';
import { EVENT_PREFIX, FailureBook, type ChildConfig, type ChildEvent } from './pool.ts';
import { openSession } from './session.ts';
import type { StageEvent } from './stages.ts';
import { signalExitCode, STOP_SIGNALS } from './stop-signals.ts';

// Every stop signal ends the child; its exit hooks kill its programs and release its claims.
for (const sig of STOP_SIGNALS) process.on(sig, () => process.exit(signalExitCode(sig)));

const cfg = await new Promise<ChildConfig>((resolve) => {
  let buf = '';
  let got = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    if (got) return;
    buf += d;
    const i = buf.indexOf('\n');
    if (i < 0) return;
    got = true;
    resolve(JSON.parse(buf.slice(0, i)) as ChildConfig);
  });
  // The parent closed the pipe (it finished, or died): nothing more to do here.
  process.stdin.on('end', () => process.exit(got ? 0 : 2));
});

const send = (e: ChildEvent) => process.stdout.write(EVENT_PREFIX + JSON.stringify(e) + '\n');

try {
  const session = await openSession(cfg.file, { source: cfg.source, overrides: cfg.overrides, seeds: cfg.seeds, ...(cfg.metrics ? { metrics: cfg.metrics } : {}) });
  const { plans } = session;
  const shares = session.share(cfg.task, cfg.tasks);
  const book = new FailureBook(cfg.failDir);
  const cache = new ResultCache(cfg.cacheDir, { claimTtlMs: cfg.claimTtlMs, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  for (const [k, plan] of plans.entries()) {
    const opts = {
      ...cfg.execution,
      cache,
      fresh: cfg.fresh,
      freshSince: cfg.freshSince,
      runner: session.runnerOf(plan),
      failedBefore: book,
      // Warnings about runs go to the parent once, from its own executor.
      warn: () => {},
      onRun: (run: string, outcome: ChildEvent['outcome'], error?: string) => {
        if (outcome === 'failed') book.record(run, error ?? 'failed');
        send({ plan: k, run, outcome, error });
      },
      onStage: (se: StageEvent) => send({ plan: k, run: se.key, outcome: 'computed', stage: { name: se.stage, outcome: se.outcome, ...(se.corrupt ? { corrupt: true } : {}) } }),
    };
    if (shares[k]!.runs.length) await executePlan(shares[k]!, opts);
    await executePlan(plan, opts);
  }
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
