/** How a command behaves when its reader goes away (`workflow ls | head`). */

/**
 * A command whose reader has gone (`workflow ls | head`) stops writing and exits 0, saying
 * nothing, as `git log | head` does. Node ignores SIGPIPE, so without this the failed write
 * surfaces as an unhandled `write EPIPE` with a stack trace. Exit 0 rather than 141: the reader
 * chose to stop, and under `set -o pipefail` that is not the command's failure.
 */
export function exitQuietlyWhenPipeCloses(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}
