import { describe, expect, it } from 'vitest';
import { bannerText, keyProblemMessage, readErrorBody, parseRetryAfter, retryDelaySeconds, type FetchFailure } from '../../dashboard/src/api-errors';
import { formatClaimCountdown, formatDuration } from '../../dashboard/src/format';
import { eventDetail, openClaims, overviewCounts, serverLabel, summarizeNodes, visibleNodes, NO_FILTER } from '../../dashboard/src/model';
import { appendSample, parseStoredSamples, takeSample } from '../../dashboard/src/samples';
import { parseFragment } from '../../dashboard/src/settings';
import type { FleetServer } from '../../schemas/http';

const T = Date.parse('2026-11-27T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const server = (endpoint: string, fields: Partial<FleetServer> = {}): FleetServer => ({
  endpoint,
  region: 'us-west',
  group: 'g1',
  node: 'node-a',
  status: 'available',
  lastHeartbeatAt: iso(T),
  ...fields,
});
const claim = (ref: string, fields: Partial<NonNullable<FleetServer['claim']>> = {}) => ({
  ref,
  owner: 'key:mm',
  since: iso(T - 30_000),
  confirmed: false,
  expiresAt: iso(T + 60_000),
  ...fields,
});

describe('dashboard model (pure)', () => {
  it('counts servers by status per region and group, stale on top of its status, groupless rows last', () => {
    const overview = overviewCounts([
      server('a', { status: 'available' }),
      server('b', { status: 'busy', stale: true }),
      server('c', { status: 'claimed', region: 'eu' }),
      server('d', { status: 'draining', group: undefined }),
      server('e', { status: 'terminated', group: 'g2' }),
    ]);
    expect(overview.rows.map((row) => [row.region, row.group, row.counts])).toEqual([
      ['eu', 'g1', { available: 0, claimed: 1, busy: 0, draining: 0, terminated: 0, stale: 0, total: 1 }],
      ['us-west', 'g1', { available: 1, claimed: 0, busy: 1, draining: 0, terminated: 0, stale: 1, total: 2 }],
      ['us-west', 'g2', { available: 0, claimed: 0, busy: 0, draining: 0, terminated: 1, stale: 0, total: 1 }],
      ['us-west', null, { available: 0, claimed: 0, busy: 0, draining: 1, terminated: 0, stale: 0, total: 1 }],
    ]);
    expect(overview.totals).toEqual({ available: 1, claimed: 1, busy: 1, draining: 1, terminated: 1, stale: 1, total: 5 });
  });

  it('puts drained nodes first, then nodes needing attention, then the rest, in natural name order', () => {
    const nodes = summarizeNodes([
      server('1', { node: 'node-10' }),
      server('2', { node: 'node-9' }),
      server('3', { node: 'node-2', stale: true }),
      server('4', { node: 'node-11', status: 'draining', drain: 'spot-interruption', nodeDrained: true, lifecycle: 'spot' }),
    ]);
    expect(nodes.map((node) => [node.name, node.drained, node.needsAttention])).toEqual([
      ['node-11', true, true],
      ['node-2', false, true],
      ['node-9', false, false],
      ['node-10', false, false],
    ]);
    expect(nodes[0]).toMatchObject({ drainedReason: 'spot interruption', spotInterruption: true, spot: true });
    const attention = visibleNodes(nodes, { ...NO_FILTER, attentionOnly: true });
    expect(attention.map((visible) => visible.node.name)).toEqual(['node-11', 'node-2']);
  });

  it('groups a pair claim into one open claim with both servers and nodes, soonest to end first', () => {
    const claims = openClaims([
      server('10.0.0.2:7777', { node: 'node-b', status: 'claimed', claim: claim('c-pair') }),
      server('10.0.0.1:7777', { node: 'node-a', status: 'claimed', claim: claim('c-pair', { expiresAt: iso(T + 59_000) }) }),
      server('10.0.0.3:7777', { node: 'node-c', status: 'busy', claim: claim('c-held', { id: 'match-7', confirmed: true, expiresAt: iso(T + 10_000) }) }),
      server('10.0.0.4:7777'),
    ]);
    expect(claims).toEqual([
      { ref: 'c-held', id: 'match-7', owner: 'key:mm', confirmed: true, sinceMs: T - 30_000, expiresAtMs: T + 10_000, servers: [{ endpoint: '10.0.0.3:7777', node: 'node-c' }] },
      {
        ref: 'c-pair',
        id: null,
        owner: 'key:mm',
        confirmed: false,
        sinceMs: T - 30_000,
        expiresAtMs: T + 59_000,
        servers: [
          { endpoint: '10.0.0.1:7777', node: 'node-a' },
          { endpoint: '10.0.0.2:7777', node: 'node-b' },
        ],
      },
    ]);
  });

  it('says status in words as well as colour, and counts a lease or hold down to "expired"', () => {
    expect(serverLabel(server('10.0.0.1:7777', { status: 'busy', claim: claim('c', { confirmed: true }), stale: true }))).toBe(
      '10.0.0.1:7777 busy, claimed by key:mm, stale (no heartbeats)',
    );
    expect(formatClaimCountdown(false, T + 42_000, T)).toBe('lease ends in 42 s');
    expect(formatClaimCountdown(true, T + 192_000, T)).toBe('hold ends in 3 min 12 s');
    expect(formatClaimCountdown(true, T, T)).toBe('hold expired');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(eventDetail({ id: 'x', type: 'gs.draining', time: iso(T), endpoint: 'e', status: 'draining', previousStatus: 'busy', reason: 'spot-interruption', node: 'n1' })).toBe(
      'busy → draining · spot interruption · on n1',
    );
  });
});

describe('dashboard API errors (pure)', () => {
  const http = (status: number, code: string, message: string, retryAfterSeconds: number | null = null): FetchFailure => ({ kind: 'http', status, code, message, retryAfterSeconds });

  it('reads the API error body, and falls back to the status text for a body that is not one', () => {
    expect(readErrorBody(401, 'Unauthorized', '{"error":{"code":"auth.unauthorized","message":"Unknown API key"}}')).toEqual({ code: 'auth.unauthorized', message: 'Unknown API key' });
    expect(readErrorBody(502, 'Bad Gateway', '<html>proxy</html>')).toEqual({ code: 'http.502', message: 'Bad Gateway' });
  });

  it('words a refused key (401) and a role that may not read (403) for the key form', () => {
    expect(keyProblemMessage(http(401, 'auth.unauthorized', 'Unknown API key.'))).toBe('The API refused this key (401 auth.unauthorized): Unknown API key. Enter another key.');
    expect(keyProblemMessage(http(403, 'auth.forbidden', 'Role x may not call this route'))).toBe(
      "This key's role may not read the fleet (403 auth.forbidden): Role x may not call this route. Enter a key with read access.",
    );
  });

  it('waits for Retry-After when it is longer than the refresh interval, and says so in the banner', () => {
    expect(parseRetryAfter('7', T)).toBe(7);
    expect(parseRetryAfter(new Date(T + 3_000).toUTCString(), T)).toBe(3);
    expect(retryDelaySeconds(http(429, 'throttled', 'Too Many Requests', 9), 5)).toBe(9);
    expect(retryDelaySeconds(http(503, 'service.unavailable', 'retry', 1), 5)).toBe(5);
    const since = new Date(2026, 10, 27, 10, 0, 0).getTime();
    const banner = (failure: FetchFailure) => bannerText({ failure, failingSinceMs: since, lastDataAtMs: since - 5_000, intervalSeconds: 5, retryInSeconds: 4 }).headline;
    expect(banner(http(429, 'throttled', 'Too Many Requests', 9))).toBe('Rate limited — retrying in 4 s');
    expect(banner(http(503, 'service.unavailable', 'retry'))).toBe('The API is temporarily unavailable (503) — retrying in 4 s');
    expect(banner({ kind: 'network', detail: 'Failed to fetch' })).toBe('API unreachable since 10:00:00 — showing data from 09:59:55; retrying every 5 s');
  });
});

describe('dashboard settings and samples (pure)', () => {
  it('takes the key and refresh from the fragment only, and gives back the fragment without the key', () => {
    expect(parseFragment('#key=ro-key&refresh=2')).toEqual({ key: 'ro-key', refreshSeconds: 2, fragmentWithoutKey: '#refresh=2' });
    expect(parseFragment('#key=ro-key')).toEqual({ key: 'ro-key', refreshSeconds: 5, fragmentWithoutKey: '' });
    expect(parseFragment('#refresh=0.2')).toEqual({ key: null, refreshSeconds: 1, fragmentWithoutKey: '#refresh=0.2' });
  });

  it('keeps one sample per refresh for an hour, and drops stored samples that are unreadable or older', () => {
    const sample = takeSample([server('a'), server('b', { status: 'busy' }), server('c', { status: 'draining' })], T);
    expect(sample).toEqual({ t: T / 1000, available: 1, claimed: 0, busy: 1 });
    const old = { t: T / 1000 - 3601, available: 9, claimed: 9, busy: 9 };
    expect(appendSample([old], sample, T)).toEqual([sample]);
    expect(parseStoredSamples(JSON.stringify([old, sample, { t: 'x' }]), T)).toEqual([sample]);
    expect(parseStoredSamples('not json', T)).toEqual([]);
  });
});
