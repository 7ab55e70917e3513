import fc from 'fast-check';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { makeHandler } from '../../functions/status-poller';
import { claimGameServers } from '../../lib/claims/claim';
import { confirmClaim } from '../../lib/claims/settle';
import type { NodeRecords } from '../../lib/ingestion/apply-game-server';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { CandidateCache } from '../../lib/game-servers/candidates';
import { listAvailableGameServers } from '../../lib/game-servers/list';
import { getGameServer, getGameServers, putGameServerIfVersion } from '../../lib/game-servers/records';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import { getNode } from '../../lib/nodes/repo';
import { NEVER, type GameServerItem } from '../../schemas/items';
import { T0, gsEvent } from '../fixtures/events';
import { nodeAndPodHistoryWithDelivery, nodeEvent, type MixedEvent } from '../fixtures/node-sequences';
import { sqsEvent, sqsRecord, toWire } from '../fixtures/sqs';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

const OWNER = { principal: 'key:matchmaker', admin: false };
const clock = manualClock(T0 + 1000);
let t: TestStack;
let handler: ReturnType<typeof makeHandler>;
const context = {} as Context;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { AVAILABILITY_SHARDS: '2' } });
  handler = makeHandler(t.deps);
});
afterAll(async () => t?.destroy());

const deliver = async (events: MixedEvent[]) => expect(await handler(sqsEvent(events.map((e) => sqsRecord(toWire(e as never)))), context)).toEqual({ batchItemFailures: [] });

function observable(item: GameServerItem | undefined) {
  if (!item) return undefined;
  const { version: _v, updatedAt: _u, expiresAt: _e, endpoint: _p, availAll: _a, availRegion: _r, availGroup: _g, node: _n, podUid: _pod, ...rest } = item;
  // A pool position is drawn from the endpoint and pod: the same place, whatever the endpoint.
  return item.availableAt === poolPosition(item.endpoint, item.podUid) ? { ...rest, availableAt: 'its pod\'s pool position' } : rest;
}

describe('node drain', () => {
  it('drains every server of a node at once (150 servers, claims kept visible), leaves other nodes alone, and un-drains them', async () => {
    const group = 'many';
    const onNode = Array.from({ length: 150 }, (_, i) => `10.40.${Math.floor(i / 200)}.${(i % 200) + 1}:7777`);
    const elsewhere = ['10.41.0.1:7777', '10.41.0.2:7777'];
    await deliver([]); // warm-up: the handler's first batch
    for (let i = 0; i < onNode.length; i += 10) {
      await deliver(onNode.slice(i, i + 10).map((endpoint) => gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: 'node-many', group, sentAt: clock() })));
    }
    await deliver(elsewhere.map((endpoint, i) => gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: `node-other-${i}`, group, sentAt: clock() })));

    // Two claims on the node: one confirmed (busy), one leased (claimed).
    const cache = new CandidateCache(t.deps, { ttlMs: 0 });
    const busy = await claimGameServers(t.deps, cache, { claimId: 'drain-busy', count: 1, region: 'us-west', group, distinctNodes: false, leaseSeconds: 60, holdSeconds: 3600, labels: {}, owner: OWNER.principal });
    const leased = await claimGameServers(t.deps, cache, { claimId: 'drain-leased', count: 1, region: 'us-west', group, distinctNodes: false, leaseSeconds: 60, holdSeconds: 3600, labels: {}, owner: OWNER.principal });
    if (busy.kind !== 'claimed' || leased.kind !== 'claimed') throw new Error('claims failed');
    await confirmClaim(t.deps, 'drain-busy', OWNER);
    const busyEndpoint = busy.servers[0]!.endpoint;
    const leasedEndpoint = leased.servers[0]!.endpoint;

    await deliver([nodeEvent({ node: 'node-many', event: 'draining', sentAt: clock(), reason: 'spot-interruption', instanceId: 'i-0abc' })]);
    expect(await getNode(t.deps, 'node-many')).toMatchObject({ state: 'draining', reason: 'spot-interruption', instanceId: 'i-0abc' });
    const all = await getGameServers(t.deps, [...onNode, ...elsewhere]);
    const drainedOnNode = onNode.map((e) => all.get(e)!).filter((s) => s.node === 'node-many');
    const statuses = (items: GameServerItem[]) => items.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
    expect(statuses(onNode.map((e) => all.get(e)!))).toEqual({ draining: 150 });
    expect(drainedOnNode.every((s) => s.availableAt === NEVER && s.nodeDraining === true)).toBe(true);
    expect(all.get(busyEndpoint)).toMatchObject({ status: 'draining', claimId: 'drain-busy' });
    expect(all.get(leasedEndpoint)).toMatchObject({ status: 'draining', claimId: 'drain-leased', leaseExpiresAt: expect.any(Number) });
    expect(elsewhere.map((e) => all.get(e)!.status).filter((s) => s === 'available' || s === 'claimed')).toHaveLength(2);
    const listed = await listAvailableGameServers(t.deps, { region: 'us-west', group, limit: 100, distinctNodes: false });
    expect(listed.map((s) => s.node).filter((n) => n === 'node-many')).toEqual([]);

    // A new pod on the drained node stays draining; so does a ready from a pod already there.
    const newcomer = '10.40.9.1:7777';
    await deliver([
      gsEvent({ endpoint: newcomer, podUid: 'pod-newcomer', node: 'node-many', group, sentAt: clock() + 1 }),
      gsEvent({ endpoint: onNode[5]!, podUid: `pod-${onNode[5]}`, node: 'node-many', group, event: 'ready', seq: 2, sentAt: clock() + 1 }),
    ]);
    expect(await getGameServer(t.deps, newcomer)).toMatchObject({ status: 'draining', nodeDraining: true });
    expect(await getGameServer(t.deps, onNode[5]!)).toMatchObject({ status: 'draining', seq: 2 });

    // Un-drain (a node `ready` newer than the drain): every server gets back what its claim says.
    await deliver([nodeEvent({ node: 'node-many', event: 'ready', sentAt: clock() + 2, seq: 2 })]);
    const after = await getGameServers(t.deps, [...onNode, newcomer]);
    expect(statuses([...after.values()])).toEqual({ available: 149, claimed: 1, busy: 1 });
    // Busy until its hold runs out (the claim's default hold, from the confirm).
    const hold = after.get(busyEndpoint)!.holdExpiresAt!;
    expect(after.get(busyEndpoint)).toMatchObject({ status: 'busy', claimId: 'drain-busy', availableAt: hold });
    expect(hold).toBeGreaterThan(clock());
    expect(after.get(leasedEndpoint)).toMatchObject({ status: 'claimed', claimId: 'drain-leased' });
    expect([...after.values()].some((s) => s.nodeDraining !== undefined)).toBe(false);
  });

  it('a late, older drain does not drain a node that was un-drained since', async () => {
    await deliver([gsEvent({ endpoint: '10.42.0.1:7777', podUid: 'p-late', node: 'node-late', sentAt: clock() })]);
    await deliver([nodeEvent({ node: 'node-late', event: 'ready', sentAt: clock() + 20, seq: 2 })]);
    await deliver([nodeEvent({ node: 'node-late', event: 'draining', sentAt: clock() + 10, seq: 1 })]);
    expect(await getNode(t.deps, 'node-late')).toMatchObject({ state: 'ready', seq: 2 });
    expect(await getGameServer(t.deps, '10.42.0.1:7777')).toMatchObject({ status: 'available' });
  });

  it('a redelivered drain sweeps again (a first delivery may have failed half way)', async () => {
    const drain = nodeEvent({ node: 'node-redo', event: 'draining', sentAt: clock() });
    await deliver([drain]);
    // A record the first sweep did not reach: written as available behind the drain's back.
    const decision = gsEvent({ endpoint: '10.43.0.1:7777', podUid: 'p-redo', node: 'node-redo', sentAt: clock() });
    await applyLifecycleEvent({ ...t.deps }, { ...decision, node: 'node-redo-elsewhere' });
    const stored = (await getGameServer(t.deps, '10.43.0.1:7777'))!;
    expect(await putGameServerIfVersion(t.deps, { ...stored, node: 'node-redo', version: stored.version + 1 }, stored.version)).toBe('written');
    expect(await getGameServer(t.deps, '10.43.0.1:7777')).toMatchObject({ status: 'available', node: 'node-redo' });
    expect(await applyNodeEvent(t.deps, drain)).toMatchObject({ outcome: 'current', sweep: { changed: 1, sweeps: 1 } });
    expect(await getGameServer(t.deps, '10.43.0.1:7777')).toMatchObject({ status: 'draining', nodeDraining: true });
  });

  it('pods registering while their node is being drained all end draining (the drain and the registrations race)', async () => {
    const endpoints = Array.from({ length: 40 }, (_, i) => `10.44.0.${i + 1}:7777`);
    const registrations = endpoints.map((endpoint) => applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: `race-${endpoint}`, node: 'node-race', sentAt: clock() })));
    const drain = applyNodeEvent(t.deps, nodeEvent({ node: 'node-race', event: 'draining', sentAt: clock() }));
    await Promise.all([...registrations, drain]);
    const servers = await getGameServers(t.deps, endpoints);
    expect([...servers.values()].map((s) => s.status)).toEqual(endpoints.map(() => 'draining'));
  });

  it('heartbeats applied while their node is drained and un-drained end as the node says (batches read node records up front)', async () => {
    const endpoints = Array.from({ length: 30 }, (_, i) => `10.45.0.${i + 1}:7777`);
    await deliver([]);
    for (let i = 0; i < endpoints.length; i += 10) {
      await deliver(endpoints.slice(i, i + 10).map((endpoint) => gsEvent({ endpoint, podUid: `flap-${endpoint}`, node: 'node-flap', sentAt: clock() })));
    }
    const heartbeats = (seq: number) =>
      Array.from({ length: 3 }, (_, b) =>
        deliver(endpoints.slice(b * 10, b * 10 + 10).map((endpoint) => gsEvent({ endpoint, podUid: `flap-${endpoint}`, node: 'node-flap', event: 'heartbeat', seq, sentAt: clock() + seq }))),
      );
    await Promise.all([...heartbeats(2), deliver([nodeEvent({ node: 'node-flap', event: 'draining', sentAt: clock() + 10, seq: 1 })]), ...heartbeats(3)]);
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => s.status)).toEqual(endpoints.map(() => 'draining'));
    await Promise.all([...heartbeats(4), deliver([nodeEvent({ node: 'node-flap', event: 'ready', sentAt: clock() + 20, seq: 2 })]), ...heartbeats(5)]);
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => s.status)).toEqual(endpoints.map(() => 'available'));
  });

  it('an event decided with a node record read before a drain still leaves the server draining', async () => {
    const endpoint = '10.46.0.1:7777';
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'stale-view', node: 'node-stale-view', sentAt: clock() }));
    // The batch read the node records (no record: not drained); then the drain and its sweep ran.
    const readBeforeTheDrain: NodeRecords = new Map([['node-stale-view', null]]);
    await applyNodeEvent(t.deps, nodeEvent({ node: 'node-stale-view', event: 'draining', sentAt: clock() }));
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'draining', nodeDraining: true });
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'stale-view', node: 'node-stale-view', event: 'heartbeat', seq: 2, sentAt: clock() + 1 }), readBeforeTheDrain);
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'draining', nodeDraining: true, seq: 2 });
  });

  it('a new pod decided with a node record read before a drain ends draining (it reads the node record again after writing)', async () => {
    const endpoint = '10.46.0.2:7777';
    const readBeforeTheDrain: NodeRecords = new Map([['node-stale-new', null]]);
    await applyNodeEvent(t.deps, nodeEvent({ node: 'node-stale-new', event: 'draining', sentAt: clock() }));
    const outcome = await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'stale-new', node: 'node-stale-new', sentAt: clock() }), readBeforeTheDrain);
    expect(outcome).toMatchObject({ outcome: 'applied', status: 'draining' });
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'draining', nodeDraining: true });
  });

  it('any reordering and duplication of node and pod events, delivered in batches, ends in the in-order state (DynamoDB Local)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(nodeAndPodHistoryWithDelivery(), fc.integer({ min: 1, max: 6 }), async ({ events, delivery }, batchSize) => {
        run++;
        // Each run gets its own nodes and endpoints: one copy applied in order, one shuffled.
        const rename = (copy: 'a' | 'b') => (event: MixedEvent): MixedEvent => {
          const node = (name: string) => `${name}-${run}-${copy}`;
          if (event.kind === 'node') return { ...event, node: node(event.node) };
          if (event.kind === 'game-server') {
            const last = Number(event.endpoint.split('.')[3]!.split(':')[0]);
            return { ...event, node: node(event.node), endpoint: `10.${copy === 'a' ? 50 : 51}.${run % 250}.${last}:${1000 + Math.floor(run / 250)}` };
          }
          return event;
        };
        for (const event of events.map(rename('a'))) await deliver([event]);
        const shuffled = delivery.map(rename('b'));
        for (let i = 0; i < shuffled.length; i += batchSize) await deliver(shuffled.slice(i, i + batchSize));

        const inOrder = events.map(rename('a')).filter((e) => e.kind === 'game-server').map((e) => (e as { endpoint: string }).endpoint);
        const endpointsA = [...new Set(inOrder)];
        const a = await getGameServers(t.deps, endpointsA);
        const b = await getGameServers(t.deps, endpointsA.map((e) => e.replace(/^10\.50\./, '10.51.')));
        for (const endpoint of endpointsA) {
          const twin = endpoint.replace(/^10\.50\./, '10.51.');
          expect(observable(b.get(twin)), twin).toEqual(observable(a.get(endpoint)));
          expect(b.get(twin)!.node.replace(/-b$/, ''), twin).toBe(a.get(endpoint)!.node.replace(/-a$/, ''));
        }
        const nodeA = await getNode(t.deps, `node-x-${run}-a`);
        const nodeB = await getNode(t.deps, `node-x-${run}-b`);
        expect(nodeB?.state).toBe(nodeA?.state);
        expect(nodeB?.sentAt).toBe(nodeA?.sentAt);
      }),
      { numRuns: 40 },
    );
  });
});
