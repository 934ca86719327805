/** A usage problem (unknown `--bot`, missing root): the caller's mistake, not the workspace's. */
export class BuildUsageError extends Error {
  override name = 'BuildUsageError';
}
