/**
 * Unix manners for a reader that goes away (`sluice storage ls -r … | head -1`): Node ignores
 * SIGPIPE, so a write to a closed pipe fails with EPIPE, surfacing either as an unhandled 'error'
 * event (a stack trace, exit 1) or as a rejected stream pipeline (`E099: write EPIPE`), whichever
 * write noticed first. Both are noise: the reader has all it asked for. Like ripgrep, sluice then
 * ends at once with status 0 and says nothing — there is no one left to tell.
 */

/** How the process ends; replaced in tests. */
export type Exit = (code: number) => void;

/**
 * Ends the process with status 0 on the first EPIPE of one of `streams` (stdout and stderr by
 * default). Installed before any command runs, so it is each stream's first 'error' listener and
 * runs before a pipeline's own could turn the EPIPE into an error message. Returns the remover.
 */
export function exitQuietlyOnClosedPipe(
  streams: NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: Exit = (code) => process.exit(code),
): () => void {
  const removers = streams.map((stream) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') return exit(0);
      // Any other error (EIO on a vanished terminal, ENOSPC on a redirected file) is real: left
      // to a pipeline's listener, or, when there is none, thrown as the unhandled 'error' event
      // it would have been without this listener.
      if (stream.listenerCount('error') <= 1) throw error;
    };
    stream.on('error', onError);
    return () => stream.off('error', onError);
  });
  return () => {
    for (const remove of removers) remove();
  };
}
