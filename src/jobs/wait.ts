/** Waits bounded by time and by an abort signal, without leaving timers behind. */

/** Resolves true when `promise` settles within `ms`, false when the time or `signal` runs out. */
export function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (settled: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(settled);
    };
    const onAbort = () => finish(false);
    const timer = Number.isFinite(ms)
      ? setTimeout(() => finish(false), Math.max(0, ms))
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(() => finish(true), () => finish(true));
  });
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
