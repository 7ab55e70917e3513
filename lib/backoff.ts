/**
 * Resolves after `ms`; for 0 or less, on the next turn of the event loop. Always through a timer:
 * a loop that waits for something a timer or I/O sets (`while (!done) await sleep(end - now)`)
 * must yield, or it spins on microtasks and starves what it waits for.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * The delay before retry `attempt` (1 = the first retry): the cap doubles per attempt from `baseMs`
 * up to `maxMs`, and the delay is drawn from it so that callers that failed together do not retry
 * together. `full` jitter draws from [0, cap) (spreads the most); `equal` from [cap/2, 1.5 cap)
 * (keeps a floor, for waits that must not retry at once).
 */
export function backoffDelay(
  attempt: number,
  policy: { baseMs: number; maxMs?: number; jitter: 'full' | 'equal' | 'none' },
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs ?? Number.POSITIVE_INFINITY, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  if (policy.jitter === 'none') return cap;
  return policy.jitter === 'full' ? random() * cap : cap * (0.5 + random());
}
