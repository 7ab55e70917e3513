/** One shared one-second ticker for everything that shows a live age or countdown. */

import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();
let ticker: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  ticker ??= setInterval(() => {
    for (const notify of listeners) notify();
  }, 1000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
}

/** Date.now(), re-rendering the calling component every second. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => subscribe(() => setNow(Date.now())), []);
  return now;
}
