import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceClaimServer } from '../../lib/claims/replace';
import { getClaim } from '../../lib/claims/repo';
import type { Config } from '../../lib/config';
import { createDeps, createDocumentClient, type Deps } from '../../lib/deps';
import { claimServer } from '../../lib/game-servers/claim-writes';
import { listAvailableGameServers } from '../../lib/game-servers/list';
import { ROUTE_SCHEMAS } from '../../lib/http/routes';
import { getGameServer, getGameServers } from '../../lib/game-servers/records';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import type { ClaimItem } from '../../schemas/items';
import { startFaultProxy, type FaultProxy, type RequestInfo } from '../../scripts/chaos/fault-proxy';
import { gsEvent } from '../fixtures/events';
import { loadHandlers, snapshotTables, type HttpLambda } from '../fixtures/guard';
import { invoke, PRINCIPAL_KEYS, PRINCIPAL_KEYS_ENV, type ApiResponse } from '../fixtures/http';
import { nodeEvent } from '../fixtures/node-sequences';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

/**
 * POST /claims/{claimId}/replace against DynamoDB Local: a lost server of a live claim gives way
 * to an available one, under the claim's owner, with exact outcomes for the claim record, every
 * server of the fleet and the claim's view — also for retries, concurrent replaces, refusals
 * (which write nothing) and faults between its writes.
 */

const clock = manualClock();
let t: TestStack;
let handlers: Record<string, HttpLambda>;
let proxy: FaultProxy;

const OWNER = 'key:mm-a';
const OWNER_ACTOR = { principal: OWNER, admin: false };
let sequence = 0;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: PRINCIPAL_KEYS_ENV, HEARTBEAT_TIMEOUT_SECONDS: '30' } });
  handlers = await loadHandlers(t.deps);
  proxy = await startFaultProxy({ target: t.config.endpoints.dynamodb! });
});
afterAll(async () => {
  await proxy?.close();
  await t?.destroy();
});

const post = (route: string, request: { route: string; pathParameters?: Record<string, string>; body?: unknown }, key: string = PRINCIPAL_KEYS.owner, handler = handlers[route]!) =>
  invoke(handler, { method: 'POST', ...request, key });
const replace = (claimId: string, body: Record<string, unknown>, key?: string, handler?: HttpLambda) =>
  post('replace-claim-server', { route: '/claims/{claimId}/replace', pathParameters: { claimId }, body }, key, handler);
const view = (claimId: string) => invoke(handlers['get-claim']!, { method: 'GET', route: '/claims/{claimId}', pathParameters: { claimId }, key: PRINCIPAL_KEYS.owner });

interface Fleet {
  group: string;
  endpoints: string[];
  nodeOf: Map<string, string>;
}

/** `count` servers spread round-robin over `nodes` nodes (registerFleet's naming). */
async function fleet(count: number, nodes: number): Promise<Fleet> {
  const subnet = 500 + ++sequence;
  const group = `replace-${sequence}`;
  const endpoints = await registerFleet(t.deps, { count, nodes, group, subnet, sentAt: clock() });
  return { group, endpoints, nodeOf: new Map(endpoints.map((endpoint, i) => [endpoint, `node-${subnet}-${i % nodes}`])) };
}

/** The owner's claim of two servers on distinct nodes, confirmed unless told otherwise. */
async function pair(f: Fleet, options: { confirm?: boolean } = {}): Promise<{ claimId: string; servers: [string, string] }> {
  const claimId = `pair-${++sequence}`;
  const claimed = await post('claim-gs', { route: '/claim-gs', body: { claimId, group: f.group, count: 2 } });
  expect(claimed.status).toBe(200);
  if (options.confirm !== false) expect((await post('confirm-claim', { route: '/claims/{claimId}/confirm', pathParameters: { claimId } })).status).toBe(200);
  return { claimId, servers: claimed.body.servers.map((s: { endpoint: string }) => s.endpoint) as [string, string] };
}

const drainNode = async (node: string) => {
  expect(await applyNodeEvent(t.deps, nodeEvent({ node, event: 'draining', reason: 'spot-interruption', sentAt: clock(), seq: ++sequence }))).toMatchObject({ outcome: 'applied', state: 'draining' });
};
const podEvent = (f: Fleet, endpoint: string, event: 'heartbeat' | 'draining' | 'terminating', seq: number) =>
  applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: `pod-${endpoint}`, node: f.nodeOf.get(endpoint)!, group: f.group, event, seq, sentAt: clock() }));

const fleetRecords = async (f: Fleet) => [...(await getGameServers(t.deps, f.endpoints)).values()];

/**
 * The claim record, its servers' records and its view agree: the view lists the record's
 * endpoints in order; each is held by the claim's attempt in the claim's state (busy until the
 * hold, or claimed until the lease); no other server of the fleet carries the claim.
 */
async function assertAgrees(f: Fleet, claimId: string): Promise<ClaimItem> {
  const record = (await getClaim(t.deps, claimId))!;
  const shown = await view(claimId);
  expect(shown.status).toBe(200);
  expect(shown.body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual(record.endpoints);
  const records = await fleetRecords(f);
  const carrying = records.filter((s) => s.claimId === claimId);
  expect(carrying.map((s) => s.endpoint).sort()).toEqual([...record.endpoints].sort());
  for (const server of carrying) {
    expect(server.claimAttempt).toBe(record.attemptId);
    expect(server.owner).toBe(record.owner);
    if (record.status === 'confirmed') expect(server).toMatchObject({ status: 'busy', holdExpiresAt: record.holdExpiresAt, availableAt: record.holdExpiresAt });
    else expect(server).toMatchObject({ status: 'claimed', leaseExpiresAt: record.leaseExpiresAt, availableAt: record.leaseExpiresAt });
  }
  for (const s of shown.body.servers) expect(s).toMatchObject({ status: record.status === 'confirmed' ? 'busy' : 'claimed', claimId });
  return record;
}

const errorOf = (response: ApiResponse) => ({ status: response.status, code: response.body?.error?.code });

describe('POST /claims/{claimId}/replace', () => {
  it('replaces a server whose node drained with one on a node of its own: busy under the claim\'s hold, the drained one leaves the claim and stays draining', async () => {
    const f = await fleet(6, 3);
    const { claimId, servers } = await pair(f);
    const [lost, kept] = servers;
    const before = (await getClaim(t.deps, claimId))!;
    await drainNode(f.nodeOf.get(lost)!);
    const thirdNode = [...new Set(f.nodeOf.values())].find((node) => node !== f.nodeOf.get(lost) && node !== f.nodeOf.get(kept))!;

    const response = await replace(claimId, { lost, group: f.group });
    expect(response.status).toBe(200);
    const replacement = response.body.replaced.replacement as string;
    expect(response.body).toMatchObject({ claimId, status: 'confirmed', owner: OWNER, replaced: { lost, replacement }, replayed: false });
    expect(f.nodeOf.get(replacement)).toBe(thirdNode);
    expect(response.body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual([replacement, kept]);
    // The answer is what the route's published schema says.
    expect(ROUTE_SCHEMAS['replace-claim-server'].response.strict().safeParse(response.body).error).toBeUndefined();

    const record = await assertAgrees(f, claimId);
    expect(record).toEqual({ ...before, endpoints: [replacement, kept], replaced: { [lost]: replacement } });
    const lostRecord = (await getGameServer(t.deps, lost))!;
    expect(lostRecord).toMatchObject({ status: 'draining', nodeDraining: true });
    expect([lostRecord.claimId, lostRecord.claimAttempt, lostRecord.owner, lostRecord.holdExpiresAt]).toEqual([undefined, undefined, undefined, undefined]);
    // The answer is the claim's view as GET /claims/{id} shows it.
    const { replaced: _replaced, replayed: _replayed, ...claimView } = response.body;
    expect((await view(claimId)).body).toEqual(claimView);
  });

  it("a leased claim's replacement is claimed until the claim's lease, and a confirm then makes both busy", async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f, { confirm: false });
    const [lost, kept] = servers;
    await podEvent(f, lost, 'terminating', 2);
    const response = await replace(claimId, { lost, group: f.group });
    expect(response.status).toBe(200);
    const replacement = response.body.replaced.replacement as string;
    expect(response.body).toMatchObject({ status: 'leased', servers: [{ endpoint: replacement, status: 'claimed', claimId }, { endpoint: kept, status: 'claimed', claimId }] });
    const record = await assertAgrees(f, claimId);
    expect((await getGameServer(t.deps, replacement))!.leaseExpiresAt).toBe(record.leaseExpiresAt);
    expect(await getGameServer(t.deps, lost)).toMatchObject({ status: 'terminated' });
    expect((await getGameServer(t.deps, lost))!.claimId).toBeUndefined();

    expect((await post('confirm-claim', { route: '/claims/{claimId}/confirm', pathParameters: { claimId } })).status).toBe(200);
    expect((await assertAgrees(f, claimId)).status).toBe('confirmed');
  });

  it('replaces a stale server, which goes back to the pool (claimable again once it heartbeats)', async () => {
    const f = await fleet(3, 3);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    clock.advance(31_000);
    for (const endpoint of f.endpoints.filter((e) => e !== lost)) await podEvent(f, endpoint, 'heartbeat', 2);
    const response = await replace(claimId, { lost, group: f.group });
    expect(response.status).toBe(200);
    const [other] = f.endpoints.filter((e) => !servers.includes(e));
    expect(response.body.replaced).toEqual({ lost, replacement: other });
    await assertAgrees(f, claimId);
    const lostRecord = (await getGameServer(t.deps, lost))!;
    expect(lostRecord).toMatchObject({ status: 'available', returnedAt: clock() });
    expect(lostRecord.claimId).toBeUndefined();
  });

  it('answers 409 claim.server_not_lost for a healthy server of the claim, and writes nothing', async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const before = await snapshotTables(t);
    const response = await replace(claimId, { lost: servers[0], group: f.group });
    expect(errorOf(response)).toEqual({ status: 409, code: 'claim.server_not_lost' });
    expect(response.body.error.details).toEqual({ status: 'busy' });
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('answers 409 claim.server_not_in_claim for a server the claim does not have, and writes nothing', async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const stranger = f.endpoints.find((e) => !servers.includes(e))!;
    await podEvent(f, stranger, 'draining', 2);
    const before = await snapshotTables(t);
    expect(errorOf(await replace(claimId, { lost: stranger, group: f.group }))).toEqual({ status: 409, code: 'claim.server_not_in_claim' });
    expect(errorOf(await replace(claimId, { lost: '10.255.255.1:7777', group: f.group }))).toEqual({ status: 409, code: 'claim.server_not_in_claim' });
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('is refused like a release for other principals (404, reader 403) and writes nothing; an admin replaces for the owner', async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await podEvent(f, lost, 'draining', 2);
    const before = await snapshotTables(t);
    for (const [key, expected] of [
      [PRINCIPAL_KEYS.otherMatchmaker, { status: 404, code: 'claim.not_found' }],
      [PRINCIPAL_KEYS.otherLoadBalancer, { status: 404, code: 'claim.not_found' }],
      [PRINCIPAL_KEYS.reader, { status: 403, code: 'auth.forbidden' }],
    ] as const) {
      const response = await replace(claimId, { lost, group: f.group }, key);
      expect(errorOf(response)).toEqual(expected);
      expect(JSON.stringify(response.body)).not.toContain(lost);
    }
    expect(await snapshotTables(t)).toEqual(before);

    const byAdmin = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.admin);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.owner).toBe(OWNER);
    expect((await getGameServer(t.deps, byAdmin.body.replaced.replacement))!.owner).toBe(OWNER);
    // The owner's other key sees the same claim and the same replacement (a retry).
    const byOwner = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.ownerRotated);
    expect(byOwner.body).toMatchObject({ replaced: byAdmin.body.replaced, replayed: true });
    await assertAgrees(f, claimId);
  });

  it('a retry answers the same replacement (replayed) and writes nothing new', async () => {
    const f = await fleet(6, 3);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await drainNode(f.nodeOf.get(lost)!);
    const first = await replace(claimId, { lost, group: f.group });
    expect(first.status).toBe(200);
    const after = await snapshotTables(t);
    for (const handler of [handlers['replace-claim-server']!, (await loadHandlers(t.deps))['replace-claim-server']!]) {
      const retry = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.owner, handler);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual({ ...first.body, replayed: true });
    }
    expect(await snapshotTables(t)).toEqual(after);
  });

  it('of two concurrent replaces of one lost server exactly one commits: one replacement held, the other call\'s server given back to the pool, both answer the same pair', async () => {
    const f = await fleet(6, 3);
    const { claimId, servers } = await pair(f);
    const [lost, kept] = servers;
    await drainNode(f.nodeOf.get(lost)!);
    const candidates = f.endpoints.filter((e) => f.nodeOf.get(e) !== f.nodeOf.get(lost) && f.nodeOf.get(e) !== f.nodeOf.get(kept));
    expect(candidates).toHaveLength(2);
    const versions = new Map((await fleetRecords(f)).map((s) => [s.endpoint, s.version]));

    // Both calls claim their replacement before either commits; each shuffles the two candidates
    // its own way (0 reverses them, 0.999 keeps them), so they hold different servers.
    const barrier = commitBarrier(2);
    try {
      const request = { claimId, lost, group: f.group, distinctNodes: true };
      const [a, b] = await Promise.all([
        replaceClaimServer(barrier.deps, request, OWNER_ACTOR, () => 0),
        replaceClaimServer(barrier.deps, request, OWNER_ACTOR, () => 0.999),
      ]);
      expect(barrier.claimed()).toBe(2);
      if (a.kind !== 'replaced' || b.kind !== 'replaced') throw new Error('a replace found nothing');
      expect(a.replacement).toBe(b.replacement);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
      const given = candidates.find((e) => e !== a.replacement)!;
      const record = await assertAgrees(f, claimId);
      expect(record.endpoints).toEqual([a.replacement, kept]);
      const givenBack = (await getGameServer(t.deps, given))!;
      expect(givenBack).toMatchObject({ status: 'available', returnedAt: expect.any(Number) });
      expect(givenBack.claimId).toBeUndefined();
      // Claimed, then given back: two writes.
      expect(givenBack.version).toBe(versions.get(given)! + 2);
    } finally {
      barrier.destroy();
    }
  });

  it('many concurrent replaces of one lost server through their own function instances: one replacement; each call answers it or asks to retry, and its retry answers it', async () => {
    const f = await fleet(9, 3);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await drainNode(f.nodeOf.get(lost)!);
    const call = async () => replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.owner, (await loadHandlers(t.deps))['replace-claim-server']!);
    const responses = await Promise.all(Array.from({ length: 8 }, call));
    // A call that finds every candidate held by the others (not committed yet) asks to retry.
    const refused = responses.filter((r) => r.status !== 200);
    expect(refused.map(errorOf)).toEqual(refused.map(() => ({ status: 409, code: 'gs.none_available' })));
    const answered = responses.filter((r) => r.status === 200);
    expect(answered.length).toBeGreaterThan(0);
    const replacement = answered[0]!.body.replaced.replacement;
    for (const response of answered) expect(response.body.replaced).toEqual({ lost, replacement });
    for (const retry of await Promise.all(refused.map(call))) expect(retry.body).toMatchObject({ replaced: { lost, replacement }, replayed: true });

    const record = await assertAgrees(f, claimId);
    expect(record.replaced).toEqual({ [lost]: replacement });
    const inPool = (await fleetRecords(f)).filter((s) => !record.endpoints.includes(s.endpoint) && f.nodeOf.get(s.endpoint) !== f.nodeOf.get(lost));
    expect(inPool.map((s) => [s.status, s.claimId])).toEqual(inPool.map(() => ['available', undefined]));
  });

  it("with no server to take its place: 409 gs.none_available with Retry-After, and nothing changed; without distinct nodes it takes one on the survivor's node", async () => {
    // Two nodes: node 0 has two servers, node 1 one. A pair takes node 1's and one of node 0's.
    const f = await fleet(3, 2);
    const { claimId, servers } = await pair(f);
    const lost = f.endpoints[1]!;
    const kept = servers.find((e) => e !== lost)!;
    const spare = f.endpoints.find((e) => !servers.includes(e))!;
    expect(servers).toContain(lost);
    expect(f.nodeOf.get(spare)).toBe(f.nodeOf.get(kept));
    await podEvent(f, lost, 'draining', 2);
    const before = await snapshotTables(t);
    const refused = await replace(claimId, { lost, group: f.group });
    expect(errorOf(refused)).toEqual({ status: 409, code: 'gs.none_available' });
    expect(refused.headers['retry-after']).toBe('2');
    expect(await snapshotTables(t)).toEqual(before);

    const anyNode = await replace(claimId, { lost, group: f.group, distinctNodes: false });
    expect(anyNode.status).toBe(200);
    expect(anyNode.body.replaced).toEqual({ lost, replacement: spare });
    await assertAgrees(f, claimId);
  });

  it('answers 409 claim.released for a released claim and 409 claim.expired for a claim past its lease, writing nothing', async () => {
    const f = await fleet(6, 6);
    const released = await pair(f);
    expect((await post('release-claim', { route: '/claims/{claimId}/release', pathParameters: { claimId: released.claimId } })).status).toBe(200);
    const leased = await pair(f, { confirm: false });
    await podEvent(f, leased.servers[0], 'draining', 2);
    clock.advance(61_000);
    for (const endpoint of f.endpoints.filter((e) => e !== leased.servers[0])) await podEvent(f, endpoint, 'heartbeat', 3);
    const before = await snapshotTables(t);
    expect(errorOf(await replace(released.claimId, { lost: released.servers[0], group: f.group }))).toEqual({ status: 409, code: 'claim.released' });
    const expired = await replace(leased.claimId, { lost: leased.servers[0], group: f.group });
    expect(errorOf(expired)).toEqual({ status: 409, code: 'claim.expired' });
    expect(expired.body.error.details).toEqual({ status: 'leased' });
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('a replacement claimed by a call that died before its commit is not the claim\'s, and its lease returns it to the pool', async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const record = (await getClaim(t.deps, claimId))!;
    const orphan = f.endpoints.find((e) => !servers.includes(e))!;
    // Step (a) of a replace, with no commit after it.
    const leaseExpiresAt = clock() + record.leaseSeconds * 1000;
    expect(await claimServer(t.deps, { endpoint: orphan, claimId, attemptId: record.attemptId, owner: OWNER, now: clock(), leaseExpiresAt, expect: { group: f.group, node: f.nodeOf.get(orphan)! } })).toEqual({ kind: 'claimed' });
    expect((await view(claimId)).body.servers.map((s: { endpoint: string }) => s.endpoint)).toEqual(servers);
    expect((await getClaim(t.deps, claimId))!).toEqual(record);
    const listed = async () => (await listAvailableGameServers(t.deps, { group: f.group, limit: 10, distinctNodes: false })).map((s) => s.endpoint);
    expect(await listed()).not.toContain(orphan);
    clock.set(leaseExpiresAt);
    for (const endpoint of f.endpoints) await podEvent(f, endpoint, 'heartbeat', 5);
    expect(await listed()).toContain(orphan);
    // Confirm and renew concern the claim's own servers only.
    expect((await post('renew-claim', { route: '/claims/{claimId}/renew', pathParameters: { claimId } })).status).toBe(200);
  });
});

describe('POST /claims/{claimId}/replace under faults', () => {
  /** A function instance whose DynamoDB traffic goes through the fault proxy. */
  function faultyDeps(): Deps {
    const config: Config = { ...t.config, endpoints: { ...t.config.endpoints, dynamodb: proxy.url } };
    return createDeps({ config, logger: t.deps.logger, metrics: t.deps.metrics, clock });
  }
  const faultyHandler = async () => (await loadHandlers(faultyDeps()))['replace-claim-server']!;
  const mentions = (op: string, ...texts: string[]) => (request: RequestInfo) => request.op === op && texts.every((text) => request.body.includes(text));

  it('a commit whose every answer is lost answers 503; the retry answers the same replacement and the tables agree', async () => {
    const f = await fleet(6, 3);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await drainNode(f.nodeOf.get(lost)!);
    proxy.inject({ match: mentions('TransactWriteItems', `"${claimId}"`, ':lost'), fault: 'reset-after', times: 3 });
    const failed = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.owner, await faultyHandler());
    expect(errorOf(failed)).toEqual({ status: 503, code: 'service.unavailable' });
    expect(failed.headers['retry-after']).toBe('1');
    const committed = (await getClaim(t.deps, claimId))!;
    const replacement = committed.replaced?.[lost];
    expect(committed.endpoints).toEqual([replacement, servers[1]]);

    const retry = await replace(claimId, { lost, group: f.group });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ replaced: { lost, replacement }, replayed: true });
    await assertAgrees(f, claimId);
    expect((await getGameServer(t.deps, lost))!.claimId).toBeUndefined();
  });

  it("a call that dies between its commit and the lost server's release: the retry releases it and answers the same", async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await podEvent(f, lost, 'terminating', 2);
    proxy.inject({ match: mentions('UpdateItem', `"${lost}"`, `"${claimId}"`), fault: 'reset-before', times: 3 });
    const failed = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.owner, await faultyHandler());
    expect(errorOf(failed)).toEqual({ status: 503, code: 'service.unavailable' });
    const committed = (await getClaim(t.deps, claimId))!;
    expect(committed.endpoints).not.toContain(lost);
    expect(await getGameServer(t.deps, lost)).toMatchObject({ status: 'terminated', claimId });

    const retry = await replace(claimId, { lost, group: f.group });
    expect(retry.body).toMatchObject({ replaced: { lost, replacement: committed.replaced![lost] }, replayed: true });
    expect(await getGameServer(t.deps, lost)).toMatchObject({ status: 'terminated' });
    expect((await getGameServer(t.deps, lost))!.claimId).toBeUndefined();
    await assertAgrees(f, claimId);
  });

  it('DynamoDB unreachable while claiming the replacement: 503 and nothing changed', async () => {
    const f = await fleet(4, 4);
    const { claimId, servers } = await pair(f);
    const [lost] = servers;
    await podEvent(f, lost, 'draining', 2);
    const before = await snapshotTables(t);
    proxy.inject({ match: mentions('UpdateItem', `"${claimId}"`), fault: 'reset-before', times: 3 });
    const failed = await replace(claimId, { lost, group: f.group }, PRINCIPAL_KEYS.owner, await faultyHandler());
    expect(errorOf(failed)).toEqual({ status: 503, code: 'service.unavailable' });
    expect(await snapshotTables(t)).toEqual(before);
  });
});

/**
 * Deps whose real DynamoDB client holds back every replace commit (a transaction whose first item
 * updates the claims table) until `count` replacement claims (UpdateItem on a game server) have
 * been answered, so that concurrent replaces each hold a server before any of them commits. A
 * guard lets them go after 20 s, so that a broken barrier fails the test's exact counts rather
 * than hanging it. Counted: the writes that claim a server (they set its claim attempt).
 */
function commitBarrier(count: number): { deps: Deps; claimed: () => number; destroy: () => void } {
  const ddb = createDocumentClient(t.config);
  let claimed = 0;
  let release!: () => void;
  const open = new Promise<void>((resolve) => (release = resolve));
  const guard = setTimeout(release, 20_000);
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; UpdateExpression?: string; TransactItems?: Array<{ Update?: { TableName?: string } }> };
      const name = String(context.commandName ?? '');
      if (name.startsWith('TransactWriteItems') && input.TransactItems?.[0]?.Update?.TableName === t.config.tables.claims) await open;
      const result = await next(args);
      const claimsServer = name.startsWith('UpdateItem') && input.TableName === t.config.tables.gameServers && input.UpdateExpression?.includes('#claimAttempt = :attempt');
      if (claimsServer && ++claimed >= count) release();
      return result;
    },
    { step: 'initialize', name: 'commitBarrier' },
  );
  return { deps: t.depsWith({ ddb }), claimed: () => claimed, destroy: () => (clearTimeout(guard), ddb.destroy()) };
}

