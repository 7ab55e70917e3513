export interface BackoffPolicy {
  /** Delay cap of the first retry. */
  baseMs: number;
  /** Largest delay cap: the caps double per attempt up to this. */
  maxMs: number;
}

/**
 * "Full jitter" exponential backoff: a random delay in [0, min(max, base * 2^(attempt-1))).
 * Spreads the retries of many pods that failed at the same moment (an SQS or API hiccup, a whole
 * fleet starting at once) instead of having them retry in lockstep.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** Resolves after `ms`, or at once when the signal aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
