import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import resources from '../../infra/resources.cjs';
import { getGameServers } from '../../lib/game-servers/records';
import { STALE_WATCH_SHARDS } from '../../lib/game-servers/stale-watch';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { sweepStaleServers } from '../../lib/notifications/stale-sweep';
import { gsEvent } from '../fixtures/events';
import { API_KEYS_ENV, invoke } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const clock = manualClock();
let t: TestStack;
/** The held server the first test lets go silent. */
let silentEndpoint: string;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, HEARTBEAT_TIMEOUT_SECONDS: '30' } });
});
afterAll(async () => t?.destroy());

const claim = (body: Record<string, unknown>) => invoke(makeClaim(t.deps), { method: 'POST', route: '/claim-gs', body });
const confirm = (claimId: string) => invoke(makeConfirm(t.deps), { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId } });
const release = (claimId: string) => invoke(makeRelease(t.deps), { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId } });

/** Every entry of the stale-watch index, all shards. */
async function watched(): Promise<string[]> {
  const index = resources.STALE_WATCH_INDEX;
  const all: string[] = [];
  for (let shard = 0; shard < STALE_WATCH_SHARDS; shard++) {
    const page = await t.deps.ddb.send(
      new QueryCommand({ TableName: t.config.tables.gameServers, IndexName: index.indexName, KeyConditionExpression: '#w = :w', ExpressionAttributeNames: { '#w': 'watch' }, ExpressionAttributeValues: { ':w': `w#${shard}` } }),
    );
    all.push(...(page.Items ?? []).map((item) => item.endpoint as string));
  }
  return all.sort();
}

describe('the stale sweep', () => {
  it('marks exactly the held servers whose heartbeats stopped, once, and leaves the pool unread', async () => {
    clock.set(Date.parse('2026-11-26T10:00:00Z'));
    const endpoints = await registerFleet(t.deps, { count: 6, nodes: 6, subnet: 1 });
    // Nothing is held yet: the index is empty however many servers there are.
    expect(await watched()).toEqual([]);

    const held = await claim({ claimId: 'stale-a', count: 2, region: 'us-west', leaseSeconds: 600 });
    expect(held.status).toBe(200);
    const heldEndpoints: string[] = held.body.servers.map((s: { endpoint: string }) => s.endpoint).sort();
    expect(await watched()).toEqual(heldEndpoints);
    expect((await confirm('stale-a')).status).toBe(200);
    expect(await watched()).toEqual(heldEndpoints);

    // 40 s later every server is silent, but only one held server kept beating.
    const [beating, silent] = heldEndpoints as [string, string];
    silentEndpoint = silent;
    clock.advance(40_000);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: beating, podUid: `pod-${beating}`, event: 'heartbeat', seq: 2, sentAt: clock(), node: (await getGameServers(t.deps, [beating])).get(beating)!.node }));

    expect(await sweepStaleServers(t.deps)).toEqual({ found: 1, marked: 1, skipped: 0 });
    const records = await getGameServers(t.deps, endpoints);
    expect(records.get(silent)).toMatchObject({ status: 'busy', claimId: 'stale-a', staleAt: clock() });
    expect(records.get(silent)!.watch).toBeUndefined();
    expect(records.get(beating)!.staleAt).toBeUndefined();
    expect(await watched()).toEqual([beating]);

    // A second sweep reads nothing new.
    expect(await sweepStaleServers(t.deps)).toEqual({ found: 0, marked: 0, skipped: 0 });
  });

  it('clears the mark when the server heartbeats again and watches it again', async () => {
    const silent = silentEndpoint;
    const before = (await getGameServers(t.deps, [silent])).get(silent)!;
    clock.advance(1000);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: silent, podUid: before.podUid, event: 'heartbeat', seq: 5, sentAt: clock(), node: before.node }));
    const after = (await getGameServers(t.deps, [silent])).get(silent)!;
    expect(after.staleAt).toBeUndefined();
    expect(after.watch).toMatch(/^w#\d+$/);
    expect((await watched()).includes(silent)).toBe(true);
  });

  it('does not mark a server that heartbeated after the index was read', async () => {
    // A held server past its deadline, then a heartbeat arrives before the sweep's write: the
    // write's own condition (freshUntil <= now) refuses it.
    const [endpoint] = await watched();
    const record = (await getGameServers(t.deps, [endpoint!])).get(endpoint!)!;
    clock.set(record.freshUntil + 1);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: endpoint!, podUid: record.podUid, event: 'heartbeat', seq: 9, sentAt: clock(), node: record.node }));
    const { markStale } = await import('../../lib/game-servers/stale-watch');
    expect(await markStale(t.deps, endpoint!, clock())).toBe('not-stale');
    expect((await getGameServers(t.deps, [endpoint!])).get(endpoint!)!.staleAt).toBeUndefined();
  });

  it('takes a released server out of the index', async () => {
    expect((await release('stale-a')).status).toBe(200);
    expect(await watched()).toEqual([]);
    clock.advance(3_600_000);
    expect(await sweepStaleServers(t.deps)).toEqual({ found: 0, marked: 0, skipped: 0 });
  });
});
