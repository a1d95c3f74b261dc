// The signals that stop sublab: SIGINT (Ctrl-C), SIGTERM (kill, timeout, docker stop, SLURM's time
// limit) and SIGHUP (the terminal went away) are all handled alike. The first one aborts the work
// (programs are stopped, finished runs stay cached, claims are released); a second one exits at
// once, the exit hooks still killing the programs' process groups.
import os from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's exit status for a process ended by `sig` (128 + its number). */
export function signalExitCode(sig: StopSignal): number {
  return 128 + (os.constants.signals[sig] ?? 2);
}

export interface StopHandle {
  /** Aborted at the first stop signal. */
  signal: AbortSignal;
  /** The first stop signal received, if any. */
  received(): StopSignal | undefined;
  /** Remove the handlers. */
  dispose(): void;
}

/** Handle the stop signals until disposed; `onFirst` may print what is happening. */
export function handleStopSignals(onFirst: (sig: StopSignal) => void = () => {}): StopHandle {
  const controller = new AbortController();
  let first: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((sig) => {
    const h = () => {
      if (first !== undefined) process.exit(signalExitCode(sig));
      first = sig;
      onFirst(sig);
      controller.abort();
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}
