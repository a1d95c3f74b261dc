/** A user-facing token_probe error: the message says what is wrong and how to fix it. */
export class TokenProbeError extends Error {
  override name = 'TokenProbeError';
}
