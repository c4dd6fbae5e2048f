/**
 * Wait for a condition instead of sleeping: polls `check` every `intervalMs` until it returns
 * true, and rejects with the description (and the last error `check` threw, if any) once
 * `timeoutMs` has passed. An error thrown by `check` counts as "not yet", except that the
 * last one is reported.
 */
export async function waitFor(
  description: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
      // A dead process will not come back: fail at once.
      if (err instanceof Error && /exited \(code/.test(err.message)) throw err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
