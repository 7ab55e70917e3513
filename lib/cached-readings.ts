/**
 * Readings kept by this function instance for `maxAgeMs` per key (`read` runs when there is none): a reading younger than that is
 * answered again, concurrent askers share the one in flight, a failed reading is not kept (the
 * next asker reads again), and readings past their age are dropped. For the whole-table reads of
 * reports and dashboards, never for the claim path.
 */
export function cachedReadings<V>(clock: () => number, maxAgeMs: number) {
  const cache = new Map<string, { at: number; value: Promise<{ at: number; value: V }> }>();
  return (key: string, read: () => Promise<V>): Promise<{ at: number; value: V }> => {
    const now = clock();
    const cached = cache.get(key);
    if (cached && now - cached.at <= maxAgeMs) return cached.value;
    for (const [other, entry] of cache) if (now - entry.at > maxAgeMs) cache.delete(other);
    const value = read().then((result) => ({ at: now, value: result }));
    cache.set(key, { at: now, value });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  };
}
