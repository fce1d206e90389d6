/** The interval loop's timing, shared by `kdrop watch` and `kdrop agent`. */

/** Resolves true when `signal` aborted before the deadline, false when the deadline came. */
export function sleepUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, Math.max(0, deadline - Date.now()));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The deadline after `previous`; if reading took longer than an interval, skip ahead rather than firing back to back. */
export function nextDeadline(previous: number, intervalMs: number): number {
  const next = previous + intervalMs;
  return next < Date.now() ? Date.now() + intervalMs : next;
}
