/** Pure time and text formatting for the page (no DOM). */

const pad2 = (value: number): string => String(value).padStart(2, '0');

/** Local wall-clock time as HH:MM:SS. */
export function formatClock(epochMs: number): string {
  const date = new Date(epochMs);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** A duration as "42 s", "3 min 12 s", "2 h 5 min" or "3 d 4 h"; negative durations count as zero. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}

/** "12 s ago"; a time slightly in the future (clock skew) reads as "just now". */
export function formatAge(sinceMs: number, nowMs: number): string {
  const ageMs = nowMs - sinceMs;
  if (ageMs < 1000) return 'just now';
  return `${formatDuration(ageMs)} ago`;
}

/** Time left until `untilMs`, or "expired" once it has passed. */
export function formatTimeLeft(untilMs: number, nowMs: number): string {
  const leftMs = untilMs - nowMs;
  return leftMs <= 0 ? 'expired' : formatDuration(leftMs);
}

/**
 * The claim's countdown sentence: a leased (unconfirmed) claim ends with its lease, a confirmed one
 * with its hold.
 */
export function formatClaimCountdown(confirmed: boolean, expiresAtMs: number, nowMs: number): string {
  const what = confirmed ? 'hold' : 'lease';
  const leftMs = expiresAtMs - nowMs;
  if (leftMs <= 0) return `${what} expired`;
  return `${what} ends in ${formatDuration(leftMs)}`;
}

/** ISO time to epoch ms; an unreadable time becomes NaN, which the formatters above never see. */
export function parseTime(iso: string | undefined): number {
  return iso === undefined ? Number.NaN : Date.parse(iso);
}

/** "spot-interruption" → "spot interruption". */
export function humanizeReason(reason: string): string {
  return reason.replaceAll('-', ' ').replaceAll('_', ' ');
}

/** "1 server" / "3 servers". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : pluralForm}`;
}
