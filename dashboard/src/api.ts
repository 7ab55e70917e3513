/** GET calls to the API on this origin, with the key as a bearer token. */

import { parseRetryAfter, readErrorBody, type FetchFailure } from './api-errors';
import type { Fleet, RecentEvents } from './types';

export type ApiResult<T> = { ok: true; data: T } | { ok: false; failure: FetchFailure };

/** A call that hangs this long counts as a network failure, so that refreshes never pile up behind it. */
const REQUEST_TIMEOUT_MS = 15_000;

const networkFailure = (error: unknown): FetchFailure => ({
  kind: 'network',
  detail: error instanceof DOMException && error.name === 'TimeoutError' ? 'no answer within 15 s' : error instanceof Error ? error.message : String(error),
});

export async function getJson<T>(path: string, key: string, signal: AbortSignal): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'GET',
      headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (error) {
    return { ok: false, failure: networkFailure(error) };
  }
  let bodyText: string;
  try {
    bodyText = await response.text();
  } catch (error) {
    return { ok: false, failure: networkFailure(error) };
  }
  if (!response.ok) {
    const { code, message } = readErrorBody(response.status, response.statusText, bodyText);
    const retryAfterSeconds = parseRetryAfter(response.headers.get('Retry-After'), Date.now());
    return { ok: false, failure: { kind: 'http', status: response.status, code, message, retryAfterSeconds } };
  }
  try {
    return { ok: true, data: JSON.parse(bodyText) as T };
  } catch {
    return {
      ok: false,
      failure: { kind: 'http', status: response.status, code: 'response.unreadable', message: 'the answer is not JSON', retryAfterSeconds: null },
    };
  }
}

export interface LiveData {
  fleet: Fleet;
  /** performance.now() when the fleet answer was parsed. */
  fleetParsedAt: number;
  events: ApiResult<RecentEvents>;
}

/** The fleet and the latest events, fetched together; the fleet decides whether the refresh succeeded. */
export async function loadLiveData(key: string, signal: AbortSignal): Promise<ApiResult<LiveData>> {
  const eventsPromise = getJson<RecentEvents>('/events/recent?limit=50', key, signal);
  const fleet = await getJson<Fleet>('/fleet', key, signal);
  const fleetParsedAt = performance.now();
  if (fleet.ok) performance.mark('dashboard:data');
  const events = await eventsPromise;
  if (!fleet.ok) return fleet;
  if (!Array.isArray(fleet.data?.servers)) {
    return {
      ok: false,
      failure: { kind: 'http', status: 200, code: 'response.unexpected', message: 'the fleet answer has no servers list', retryAfterSeconds: null },
    };
  }
  return { ok: true, data: { fleet: fleet.data, fleetParsedAt, events } };
}
