export interface Command {
  /** One line for `sublab --help`. */
  summary: string;
  /** Full usage text for `sublab <command> --help` and usage errors. */
  usage: string;
  /** Exit code: 0 ok, 1 failure (invalid file, refuted prediction), 2 usage or language error. */
  run(args: string[]): Promise<number>;
}

/** Thrown by option parsing; the command prints the message and its usage and exits 2. */
export class UsageError extends Error {}
