import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { makeHandler as makeGetClaim } from '../../functions/get-claim';
import { makeHandler as makeSetBusy } from '../../functions/set-gs-busy';
import { makeHandler as makeSetAvailable } from '../../functions/set-gs-available';
import { makeHandler as makeList } from '../../functions/get-available-gs';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { getGameServers } from '../../lib/game-servers/records';
import { gsEvent } from '../fixtures/events';
import { API_KEYS_ENV, invoke } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const clock = manualClock();
let t: TestStack;
let claimHandler: ReturnType<typeof makeClaim>;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, AVAILABILITY_SHARDS: '3', HEARTBEAT_TIMEOUT_SECONDS: '30' } });
  claimHandler = makeClaim(t.deps);
});
afterAll(async () => t?.destroy());

const claim = (body: Record<string, unknown>, handler = claimHandler) => invoke(handler, { method: 'POST', route: '/claim-gs', body });

/**
 * Fires `claimers` concurrent claims (distinct claim ids). `instances: 'own'` gives each claimer
 * its own function instance (as separate Lambda containers: no shared candidate cache, only the
 * conditional writes keep them apart); 'shared' sends all through one instance.
 */
async function claimRace(group: string, claimers: number, extra: Record<string, unknown> = {}, instances: 'own' | 'shared' = 'own') {
  const responses = await Promise.all(
    Array.from({ length: claimers }, (_, i) =>
      claim({ claimId: `${group}-c${i}`, group, region: 'us-west', ...extra }, instances === 'own' ? makeClaim(t.deps) : claimHandler),
    ),
  );
  const winners = responses.filter((r) => r.status === 200);
  const losers = responses.filter((r) => r.status !== 200);
  for (const loser of losers) {
    expect(loser.status).toBe(409);
    expect(loser.body.error.code).toBe('gs.none_available');
  }
  return { winners, losers };
}

async function assertTableAgrees(endpoints: string[], winners: Array<{ body: { claimId: string; servers: Array<{ endpoint: string }> } }>) {
  const records = await getGameServers(t.deps, endpoints);
  const claimedInTable = [...records.values()].filter((r) => r.status === 'claimed');
  const handedOut = winners.flatMap((w) => w.body.servers.map((s) => s.endpoint));
  expect(new Set(handedOut).size).toBe(handedOut.length);
  expect(claimedInTable.length).toBe(handedOut.length);
  for (const winner of winners) {
    for (const server of winner.body.servers) expect(records.get(server.endpoint)?.claimId).toBe(winner.body.claimId);
  }
}

describe('POST /claim-gs under concurrency', () => {
  it.each([
    [64, 10, 'own'],
    [64, 100, 'own'],
    [64, 10, 'shared'],
    [64, 100, 'shared'],
  ] as const)('%i parallel claimers over %i servers (%s function instances): exactly min(K, N) win, no endpoint twice, the table agrees', async (claimers, servers, instances) => {
    const group = `race-${claimers}-${servers}-${instances}`;
    const endpoints = await registerFleet(t.deps, { count: servers, group, subnet: servers + (instances === 'own' ? 0 : 1000) });
    const { winners } = await claimRace(group, claimers, {}, instances);
    expect(winners.length).toBe(Math.min(claimers, servers));
    await assertTableAgrees(endpoints, winners);
  });

  it.each(['own', 'shared'] as const)('pairs on distinct nodes: 64 claimers of count 2 over 20 servers on 2 nodes win exactly 10 pairs, never a half pair (%s instances)', async (instances) => {
    const group = `pairs-${instances}`;
    const endpoints = await registerFleet(t.deps, { count: 20, nodes: 2, group, subnet: instances === 'own' ? 200 : 211 });
    const { winners } = await claimRace(group, 64, { count: 2, distinctNodes: true }, instances);
    expect(winners.length).toBe(10);
    for (const winner of winners) {
      expect(winner.body.servers).toHaveLength(2);
      expect(winner.body.servers[0].node).not.toBe(winner.body.servers[1].node);
    }
    await assertTableAgrees(endpoints, winners);
    const records = await getGameServers(t.deps, endpoints);
    expect([...records.values()].filter((r) => r.status === 'available')).toHaveLength(0);
  });

  it('a pair is refused as a whole when only one node has servers left', async () => {
    const group = 'one-node';
    const endpoints = await registerFleet(t.deps, { count: 4, nodes: 1, group, subnet: 201 });
    const response = await claim({ claimId: 'one-node-pair', group, region: 'us-west', count: 2 });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('gs.none_available');
    expect(response.headers['retry-after']).toBe('2');
    const records = await getGameServers(t.deps, endpoints);
    expect([...records.values()].every((r) => r.status === 'available' && r.claimId === undefined)).toBe(true);
  });
});

describe('POST /claim-gs idempotency', () => {
  it.each(['shared', 'own'] as const)('the same claimId fired 20 times concurrently claims exactly one set (%s function instances)', async (instances) => {
    const group = `idem-${instances}`;
    const endpoints = await registerFleet(t.deps, { count: 10, nodes: 5, group, subnet: instances === 'own' ? 202 : 212 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        claim({ claimId: `idem-${instances}`, group, region: 'us-west', count: 2 }, instances === 'own' ? makeClaim(t.deps) : claimHandler),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const sets = new Set(responses.map((r) => JSON.stringify(r.body.servers.map((s: { endpoint: string }) => s.endpoint).sort())));
    expect(sets.size).toBe(1);
    const records = await getGameServers(t.deps, endpoints);
    expect([...records.values()].filter((r) => r.claimId === `idem-${instances}`)).toHaveLength(2);
    expect([...records.values()].filter((r) => r.status === 'claimed')).toHaveLength(2);
  });

  it('a retry after the pool ran dry still returns the original servers', async () => {
    const group = 'idem-dry';
    await registerFleet(t.deps, { count: 1, group, subnet: 203 });
    const first = await claim({ claimId: 'dry-1', group, region: 'us-west' });
    const retry = await claim({ claimId: 'dry-1', group, region: 'us-west' });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual(first.body.servers.map((s: { endpoint: string }) => s.endpoint));
    expect(retry.body.replayed).toBe(true);
  });

  it('refuses a claimId reused for a different request with 409 claim.mismatch', async () => {
    const group = 'mismatch';
    await registerFleet(t.deps, { count: 3, group, subnet: 204 });
    expect((await claim({ claimId: 'mm-1', group, region: 'us-west' })).status).toBe(200);
    const reused = await claim({ claimId: 'mm-1', group, region: 'us-west', count: 2 });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('claim.mismatch');
  });
});

describe('leases', () => {
  it('an unconfirmed claim returns its server to the pool when the lease runs out; a late confirm then fails with 409', async () => {
    const group = 'lease';
    const [endpoint] = await registerFleet(t.deps, { count: 1, group, subnet: 205 });
    const first = await claim({ claimId: 'lease-a', group, region: 'us-west', leaseSeconds: 5 });
    expect(first.status).toBe(200);
    expect(first.body.leaseExpiresAt).toBe(new Date(clock() + 5000).toISOString());
    expect((await claim({ claimId: 'lease-b', group, region: 'us-west' })).status).toBe(409);

    clock.advance(5001);
    // Keep the server fresh across the wait, as its heartbeats would.
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: 'node-205-0', group, event: 'heartbeat', seq: 2, sentAt: clock() }));
    const expiredView = await invoke(makeGetClaim(t.deps), { route: '/claims/{claimId}', pathParameters: { claimId: 'lease-a' } });
    expect(expiredView.body).toMatchObject({ status: 'leased', expired: true });
    expect(expiredView.body.servers[0].status).toBe('available');

    const second = await claim({ claimId: 'lease-b', group, region: 'us-west' });
    expect(second.status).toBe(200);
    expect(second.body.servers[0].endpoint).toBe(endpoint);

    const lateConfirm = await invoke(makeConfirm(t.deps), { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'lease-a' } });
    expect(lateConfirm.status).toBe(409);
    expect(lateConfirm.body.error).toMatchObject({ code: 'claim.lost', details: { lost: [{ endpoint, status: 'taken' }] } });

    const retryOfA = await claim({ claimId: 'lease-a', group, region: 'us-west', leaseSeconds: 5 });
    expect(retryOfA.status).toBe(200);
    expect(retryOfA.body).toMatchObject({ expired: true, replayed: true });
  });

  it('confirm makes the servers busy (idempotently); release returns them to the pool', async () => {
    const group = 'settle';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 206 });
    expect((await claim({ claimId: 'settle-1', group, region: 'us-west', count: 2 })).status).toBe(200);
    // Heartbeats between claim and confirm keep the claim intact.
    for (const [i, endpoint] of endpoints.entries()) {
      await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: `node-206-${i}`, group, event: 'heartbeat', seq: 2, sentAt: clock(), players: 1 }));
    }
    const confirm = makeConfirm(t.deps);
    const confirmRequest = { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId: 'settle-1' } };
    const confirmed = await invoke(confirm, confirmRequest);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('confirmed');
    expect(confirmed.body.servers.map((s: { status: string }) => s.status)).toEqual(['busy', 'busy']);
    expect((await invoke(confirm, confirmRequest)).status).toBe(200);

    clock.advance(120_000); // a confirmed claim has no lease: still busy long after
    const records = await getGameServers(t.deps, endpoints);
    expect([...records.values()].map((r) => r.status)).toEqual(['busy', 'busy']);

    const release = makeRelease(t.deps);
    const released = await invoke(release, { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId: 'settle-1' } });
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('released');
    expect([...released.body.released].sort()).toEqual(endpoints);
    // A replay (the first answer lost) answers what the release did, and changes nothing.
    const again = await invoke(release, { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId: 'settle-1' } });
    expect(again.status).toBe(200);
    expect([...again.body.released].sort()).toEqual(endpoints);
    const after = await getGameServers(t.deps, endpoints);
    expect([...after.values()].map((r) => [r.status, r.claimId])).toEqual([
      ['available', undefined],
      ['available', undefined],
    ]);
    const confirmAfterRelease = await invoke(confirm, confirmRequest);
    expect(confirmAfterRelease.status).toBe(409);
    expect(confirmAfterRelease.body.error.code).toBe('claim.released');
  });

  it('answers 404 for unknown claim ids on get, confirm and release', async () => {
    for (const [handler, method, route] of [
      [makeGetClaim(t.deps), 'GET', '/claims/{claimId}'],
      [makeConfirm(t.deps), 'POST', '/claims/{claimId}/confirm'],
      [makeRelease(t.deps), 'POST', '/claims/{claimId}/release'],
    ] as const) {
      const response = await invoke(handler, { method, route, pathParameters: { claimId: 'nope' } });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('claim.not_found');
    }
  });
});

describe('freshness and draining', () => {
  it('stale and draining servers are never listed nor claimed', async () => {
    const group = 'fresh';
    const [stale, draining, healthy] = await registerFleet(t.deps, { count: 3, group, subnet: 207, sentAt: clock() });
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: draining!, podUid: `pod-${draining}`, node: 'node-207-1', group, event: 'draining', seq: 2, sentAt: clock() }));
    clock.advance(31_000);
    for (const endpoint of [healthy!, draining!]) {
      await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: 'node-207-x', group, event: 'heartbeat', seq: 3, sentAt: clock() }));
    }
    const listed = await invoke(makeList(t.deps), { route: '/get-available-gs', query: { region: 'us-west', group, limit: '100' } });
    expect(listed.body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual([healthy]);

    const setBusy = makeSetBusy(t.deps);
    const busyStale = await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: encodeURIComponent(stale!) } });
    expect(busyStale.status).toBe(409);
    expect(busyStale.body.error).toMatchObject({ code: 'gs.not_available', details: { status: 'stale' } });
    const busyDraining = await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: draining! } });
    expect(busyDraining.body.error).toMatchObject({ code: 'gs.not_available', details: { status: 'draining' } });

    const claims = await Promise.all([0, 1, 2].map((i) => claim({ claimId: `fresh-${i}`, group, region: 'us-west' })));
    expect(claims.filter((c) => c.status === 200).map((c) => c.body.servers[0].endpoint)).toEqual([healthy]);
  });
});

describe('POST /set-gs-busy/{endpoint}', () => {
  it('moves an available server to busy; the same claimId repeats the result, another caller gets 409', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'busy', subnet: 208 });
    const setBusy = makeSetBusy(t.deps);
    const request = (claimId?: string, encoded = true) => ({
      method: 'POST',
      route: '/set-gs-busy/{endpoint}',
      pathParameters: { endpoint: encoded ? encodeURIComponent(endpoint!) : endpoint! },
      ...(claimId ? { body: { claimId } } : {}),
    });
    const first = await invoke(setBusy, request('match-7'));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ claimId: 'match-7', server: { endpoint, status: 'busy', claimId: 'match-7' } });
    const repeat = await invoke(setBusy, request('match-7', false));
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(first.body);
    const other = await invoke(setBusy, request('match-8'));
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'gs.not_available', details: { status: 'busy' } });
    const anonymous = await invoke(setBusy, request());
    expect(anonymous.status).toBe(409);
    expect((await getGameServers(t.deps, [endpoint!])).get(endpoint!)).toMatchObject({ status: 'busy', claimId: 'match-7' });
  });

  it('set-gs-available returns the server to the pool only for the claim that holds it', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'busy-release', subnet: 213 });
    const setBusy = makeSetBusy(t.deps);
    const setAvailable = makeSetAvailable(t.deps);
    const release = (claimId: string) =>
      invoke(setAvailable, { method: 'POST', route: '/set-gs-available/{endpoint}', pathParameters: { endpoint: endpoint! }, body: { claimId } });
    expect((await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: endpoint! }, body: { claimId: 'm1' } })).status).toBe(200);
    const wrong = await release('m2');
    expect(wrong).toMatchObject({ status: 200, body: { released: false, server: { status: 'busy', claimId: 'm1' } } });
    const right = await release('m1');
    expect(right).toMatchObject({ status: 200, body: { released: true, server: { status: 'available' } } });
    expect(right.body.server.claimId).toBeUndefined();
    expect((await release('m1')).body.released).toBe(false);
    const again = await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: endpoint! }, body: { claimId: 'm3' } });
    expect(again.body.server).toMatchObject({ status: 'busy', claimId: 'm3' });
    const missing = await invoke(setAvailable, { method: 'POST', route: '/set-gs-available/{endpoint}', pathParameters: { endpoint: '10.251.0.1:7777' }, body: { claimId: 'm1' } });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'gs.not_found' } } });
  });

  it('answers 404 for an unknown server and generates a claimId when none is given', async () => {
    const setBusy = makeSetBusy(t.deps);
    const missing = await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: '10.250.0.1:7777' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('gs.not_found');
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'busy-gen', subnet: 209 });
    const generated = await invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: endpoint! } });
    expect(generated.status).toBe(200);
    expect(generated.body.claimId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('64 parallel callers over one server: exactly one wins', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'busy-race', subnet: 210 });
    const setBusy = makeSetBusy(t.deps);
    const responses = await Promise.all(
      Array.from({ length: 64 }, (_, i) => invoke(setBusy, { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint: endpoint! }, body: { claimId: `b${i}` } })),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 409)).toHaveLength(63);
  });
});
