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

/**
 * The end of the first interval: half an interval after the source attached, so the first report comes
 * soon after start (with a 1 s interval: 0.5 s after attach). Its report covers that shorter span and says
 * so: interval_s (watch --json), the agent's intervalS and the span between its start and end. Later
 * intervals are full and follow on from it.
 */
export function firstDeadline(attached: number, intervalMs: number): number {
  return attached + Math.ceil(intervalMs / 2);
}

/** The deadline after `previous`; if reading took longer than an interval, skip ahead rather than firing back to back. */
export function nextDeadline(previous: number, intervalMs: number): number {
  const next = previous + intervalMs;
  return next < Date.now() ? Date.now() + intervalMs : next;
}
