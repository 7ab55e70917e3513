/** Pure classification and wording of failed API calls (no DOM, no fetch). */

import { formatClock } from './format';

export type FetchFailure =
  | { kind: 'network'; detail: string }
  | { kind: 'http'; status: number; code: string; message: string; retryAfterSeconds: number | null };

export type FailureClass = 'auth' | 'forbidden' | 'rate-limited' | 'unavailable' | 'unreachable' | 'error';

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/**
 * The code and message of an error answer. The API's errors are `{ error: { code, message } }`;
 * a proxy's page or an empty body falls back to the HTTP status text.
 */
export function readErrorBody(status: number, statusText: string, bodyText: string): { code: string; message: string } {
  const fallback = { code: `http.${status}`, message: statusText || 'no error message' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return fallback;
  }
  const error = (parsed as ErrorBody | null)?.error;
  if (typeof error !== 'object' || error === null) return fallback;
  return {
    code: typeof error.code === 'string' && error.code ? error.code : fallback.code,
    message: typeof error.message === 'string' && error.message ? error.message : fallback.message,
  };
}

/** `Retry-After` as whole seconds: either delta-seconds or an HTTP date; absent or unreadable → null. */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null || header.trim() === '') return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return null;
  return Math.max(0, Math.ceil((dateMs - nowMs) / 1000));
}

export function classifyFailure(failure: FetchFailure): FailureClass {
  if (failure.kind === 'network') return 'unreachable';
  switch (failure.status) {
    case 401:
      return 'auth';
    case 403:
      return 'forbidden';
    case 429:
      return 'rate-limited';
    case 503:
      return 'unavailable';
    case 502:
    case 504:
      return 'unreachable';
    default:
      return 'error';
  }
}

/** A key the API will not accept for reading: the page asks for another key and stops polling. */
export function isKeyProblem(failure: FetchFailure): boolean {
  const failureClass = classifyFailure(failure);
  return failureClass === 'auth' || failureClass === 'forbidden';
}

/** Whether the failure means the API could not be reached (the "unreachable since" banner applies). */
export function isOutage(failure: FetchFailure): boolean {
  const failureClass = classifyFailure(failure);
  return failureClass === 'unreachable' || failureClass === 'unavailable';
}

const withoutFinalPeriod = (text: string): string => text.replace(/[.\s]+$/, '');

/** "401 auth.invalid_key: the key is unknown" */
export function describeHttpFailure(failure: FetchFailure): string {
  if (failure.kind === 'network') return `network error: ${withoutFinalPeriod(failure.detail)}`;
  return `${failure.status} ${failure.code}: ${withoutFinalPeriod(failure.message)}`;
}

/** The sentence shown next to the key form after the API turned the key down. */
export function keyProblemMessage(failure: FetchFailure): string {
  if (failure.kind !== 'http') return '';
  const reason = withoutFinalPeriod(failure.message);
  if (failure.status === 403) {
    return `This key's role may not read the fleet (403 ${failure.code}): ${reason}. Enter a key with read access.`;
  }
  return `The API refused this key (${failure.status} ${failure.code}): ${reason}. Enter another key.`;
}

/**
 * Seconds until the next attempt after a failure: never sooner than the refresh interval, and never
 * sooner than the API's Retry-After.
 */
export function retryDelaySeconds(failure: FetchFailure, intervalSeconds: number): number {
  const retryAfter = failure.kind === 'http' ? failure.retryAfterSeconds : null;
  return Math.max(intervalSeconds, retryAfter ?? 0);
}

export interface BannerInput {
  failure: FetchFailure;
  /** When the current run of failures began. */
  failingSinceMs: number;
  /** When the data on screen was fetched; null before the first success. */
  lastDataAtMs: number | null;
  intervalSeconds: number;
  /** Seconds until the next attempt, counted down by the page. */
  retryInSeconds: number;
}

export interface BannerText {
  headline: string;
  detail: string;
}

const retryingIn = (seconds: number): string => (seconds > 0 ? `retrying in ${seconds} s` : 'retrying now');

function showingData(lastDataAtMs: number | null): string {
  return lastDataAtMs === null ? 'no data yet' : `showing data from ${formatClock(lastDataAtMs)}`;
}

/** The banner over the page while refreshes fail (not used for key problems, which show the key form). */
export function bannerText(input: BannerInput): BannerText {
  const { failure, failingSinceMs, lastDataAtMs, intervalSeconds, retryInSeconds } = input;
  const since = formatClock(failingSinceMs);
  const data = showingData(lastDataAtMs);
  const failureDetail = describeHttpFailure(failure);
  switch (classifyFailure(failure)) {
    case 'unavailable':
      return {
        headline: `The API is temporarily unavailable (503) — ${retryingIn(retryInSeconds)}`,
        detail: `API unreachable since ${since} — ${data}. (${failureDetail})`,
      };
    case 'unreachable':
      return {
        headline: `API unreachable since ${since} — ${data}; retrying every ${intervalSeconds} s`,
        detail: `(${failureDetail})`,
      };
    case 'rate-limited':
      return {
        headline: `Rate limited — ${retryingIn(retryInSeconds)}`,
        detail: `${data}. (${failureDetail})`,
      };
    default:
      return {
        headline: `The API answered ${failureDetail} — ${retryingIn(retryInSeconds)}`,
        detail: `Failing since ${since} — ${data}.`,
      };
  }
}
