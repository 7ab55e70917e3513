/** What the URL fragment asks of the page: `#key=…&refresh=N` (no DOM). The query string is never read. */

export const DEFAULT_REFRESH_SECONDS = 5;
export const MIN_REFRESH_SECONDS = 1;

export interface FragmentSettings {
  key: string | null;
  refreshSeconds: number;
  /** The fragment without the key, to put back in the address bar ("" when nothing is left). */
  fragmentWithoutKey: string;
}

/** Refresh seconds from the fragment: a number of at least 1; anything else keeps the default. */
export function parseRefreshSeconds(raw: string | null): number {
  if (raw === null || raw.trim() === '') return DEFAULT_REFRESH_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds)) return DEFAULT_REFRESH_SECONDS;
  return Math.max(MIN_REFRESH_SECONDS, seconds);
}

export function parseFragment(hash: string): FragmentSettings {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const key = params.get('key');
  params.delete('key');
  const rest = params.toString();
  return {
    key: key !== null && key.trim() !== '' ? key.trim() : null,
    refreshSeconds: parseRefreshSeconds(params.get('refresh')),
    fragmentWithoutKey: rest === '' ? '' : `#${rest}`,
  };
}
