/**
 * Concurrent calls with the same key share one execution: the first runs, the others await its
 * result. Used so that a burst of retries of one claim id inside one function instance becomes
 * a single claim attempt (across instances the claim record's condition does the same job).
 */
export function singleFlight<A extends unknown[], R>(run: (key: string, ...args: A) => Promise<R>) {
  const inFlight = new Map<string, Promise<R>>();
  return (key: string, ...args: A): Promise<R> => {
    const running = inFlight.get(key);
    if (running) return running;
    const started = run(key, ...args).finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };
}
