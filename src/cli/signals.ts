/**
 * Resolves on SIGINT or SIGTERM, or when `stream` ends or closes (stdio servers stop when their
 * client hangs up). Both signal listeners are removed again, so a long-lived process that serves
 * several times does not collect them.
 */
export function untilStopped(stream?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stream?.once('end', done);
    stream?.once('close', done);
  });
}
