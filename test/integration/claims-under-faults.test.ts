import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeGetClaim } from '../../functions/get-claim';
import { makeHandler as makeGetGs } from '../../functions/get-gs';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { makeHandler as makeRenew } from '../../functions/renew-claim';
import { makeHandler as makePoller } from '../../functions/status-poller';
import { getClaim } from '../../lib/claims/repo';
import type { Config } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { getGameServer, getGameServers } from '../../lib/game-servers/records';
import { startFaultProxy, type FaultProxy, type RequestInfo } from '../../scripts/chaos/fault-proxy';
import { v1Message } from '../fixtures/events';
import { API_KEYS_ENV, invoke } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { sqsEvent, sqsRecord } from '../fixtures/sqs';
import { createTestStack, type TestStack } from '../setup/stack';

// Each failure seen under faults, reproduced deterministically: a fault proxy between the
// functions and DynamoDB Local injects the fault into one chosen request. `direct` deps talk to
// DynamoDB Local without the proxy (another function instance, or the test's own reads).

let t: TestStack;
let proxy: FaultProxy;

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  proxy = await startFaultProxy({ target: t.config.endpoints.dynamodb! });
});
afterAll(async () => {
  await proxy?.close();
  await t?.destroy();
});

/** A function instance whose DynamoDB traffic goes through the proxy. */
function faultyDeps(client: Partial<Config['dynamodbClient']> = {}): Deps {
  const config: Config = {
    ...t.config,
    endpoints: { ...t.config.endpoints, dynamodb: proxy.url },
    dynamodbClient: { ...t.config.dynamodbClient, ...client },
  };
  return createDeps({ config, logger: t.deps.logger, metrics: t.deps.metrics });
}

const mentions = (op: string, text: string) => (request: RequestInfo) => request.op === op && request.body.includes(text);
const post = (handler: unknown, route: string, pathParameters: Record<string, string> = {}, body?: unknown) =>
  invoke(handler as never, { method: 'POST', route, pathParameters, ...(body !== undefined ? { body } : {}) });
const endpointsOf = (response: { body: { servers: Array<{ endpoint: string }> } }) => response.body.servers.map((s) => s.endpoint).sort();

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe('a lost answer never undoes a claim another request answered', () => {
  it('a server write applied but unanswered, retried late, ends with one set of servers for every answer of the claim id', async () => {
    const group = 'lost-answer';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 401 });
    const claimId = 'lost-answer-1';
    // The first server write of the original request is applied but its answer lost; the SDK's
    // retry of it is held back for 2 s, while a retry of the claim arrives at another instance.
    proxy.inject({ match: mentions('UpdateItem', `"${claimId}"`), fault: 'reset-after' });
    proxy.inject({ match: mentions('UpdateItem', `"${claimId}"`), fault: { delayMs: 2000 } });
    const original = post(makeClaim(faultyDeps()), '/claim-gs', {}, { claimId, group, region: 'us-west' });
    await until(async () => [...(await getGameServers(t.deps, endpoints)).values()].some((s) => s.claimId === claimId), 'the first write landed');
    const retry = await post(makeClaim(t.deps), '/claim-gs', {}, { claimId, group, region: 'us-west' });
    const first = await original;

    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(endpointsOf(first)).toEqual(endpointsOf(retry));
    const record = (await getClaim(t.deps, claimId))!;
    expect(record.endpoints).toEqual(endpointsOf(retry));
    const servers = await getGameServers(t.deps, endpoints);
    const held = [...servers.values()].filter((s) => s.claimId === claimId);
    expect(held.map((s) => [s.endpoint, s.status, s.claimAttempt])).toEqual([[record.endpoints[0], 'claimed', record.attemptId]]);
    expect([...servers.values()].filter((s) => s.claimId === undefined).map((s) => s.status)).toEqual(['available']);
    const view = await invoke(makeGetClaim(t.deps), { route: '/claims/{claimId}', pathParameters: { claimId } });
    expect(view.body).toMatchObject({ status: 'leased', expired: false });
  });

  it('a retry arriving while the original request is still writing gets the same servers, never claim.pending', async () => {
    const group = 'in-flight';
    await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 402 });
    const claimId = 'in-flight-1';
    proxy.inject({ match: mentions('UpdateItem', `"${claimId}"`), fault: { delayMs: 5000 } });
    const before = proxy.stats().faults.latency;
    const original = post(makeClaim(faultyDeps()), '/claim-gs', {}, { claimId, group, region: 'us-west', count: 1 });
    await until(async () => proxy.stats().faults.latency > before, 'the original write is in flight');
    const retries = await Promise.all([0, 1, 2].map(() => post(makeClaim(t.deps), '/claim-gs', {}, { claimId, group, region: 'us-west', count: 1 })));
    const first = await original;
    expect([first, ...retries].map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set([first, ...retries].map((r) => endpointsOf(r).join()))).toEqual(new Set([endpointsOf(first).join()]));
    expect((await getClaim(t.deps, claimId))!.endpoints).toEqual(endpointsOf(first));
  });
});

describe('confirm and release are all or nothing', () => {
  async function confirmedPair(group: string, subnet: number, claimId: string) {
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet });
    expect((await post(makeClaim(t.deps), '/claim-gs', {}, { claimId, group, region: 'us-west', count: 2 })).status).toBe(200);
    expect((await post(makeConfirm(t.deps), '/claims/{claimId}/confirm', { claimId })).status).toBe(200);
    return endpoints;
  }

  it('a release that never reaches DynamoDB answers 503 and leaves the claim and its servers as they were; its retry releases them together', async () => {
    const claimId = 'release-lost';
    const endpoints = await confirmedPair('release-fault', 403, claimId);
    proxy.inject({ match: mentions('TransactWriteItems', `"${claimId}"`), fault: 'reset-before', times: 3 });
    const failed = await post(makeRelease(faultyDeps()), '/claims/{claimId}/release', { claimId });
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('service.unavailable');
    expect(failed.headers['retry-after']).toBe('1');
    expect((await getClaim(t.deps, claimId))!.status).toBe('confirmed');
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => [s.status, s.claimId])).toEqual([
      ['busy', claimId],
      ['busy', claimId],
    ]);
    expect((await post(makeClaim(t.deps), '/claim-gs', {}, { claimId: 'release-lost-other', group: 'release-fault', region: 'us-west' })).status).toBe(409);

    const retried = await post(makeRelease(t.deps), '/claims/{claimId}/release', { claimId });
    expect(retried.status).toBe(200);
    expect([...retried.body.released].sort()).toEqual(endpoints);
    expect((await getClaim(t.deps, claimId))!.status).toBe('released');
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => [s.status, s.claimId])).toEqual([
      ['available', undefined],
      ['available', undefined],
    ]);
  });

  it('a release applied but unanswered is answered on retry with what it did; a confirm after it is refused', async () => {
    const claimId = 'release-unanswered';
    const endpoints = await confirmedPair('release-after', 404, claimId);
    proxy.inject({ match: mentions('TransactWriteItems', `"${claimId}"`), fault: 'reset-after' });
    const released = await post(makeRelease(faultyDeps()), '/claims/{claimId}/release', { claimId });
    expect(released.status).toBe(200);
    expect([...released.body.released].sort()).toEqual(endpoints);
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => s.status)).toEqual(['available', 'available']);
    const confirm = await post(makeConfirm(t.deps), '/claims/{claimId}/confirm', { claimId });
    expect(confirm.status).toBe(409);
    expect(confirm.body.error.code).toBe('claim.released');
  });

  it('a confirm applied but unanswered is answered 200 confirmed on retry, its servers busy', async () => {
    const group = 'confirm-after';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 405 });
    const claimId = 'confirm-unanswered';
    expect((await post(makeClaim(t.deps), '/claim-gs', {}, { claimId, group, region: 'us-west', count: 2 })).status).toBe(200);
    proxy.inject({ match: mentions('TransactWriteItems', `"${claimId}"`), fault: 'reset-after' });
    const confirmed = await post(makeConfirm(faultyDeps()), '/claims/{claimId}/confirm', { claimId });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('confirmed');
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => [s.status, s.claimId])).toEqual([
      ['busy', claimId],
      ['busy', claimId],
    ]);
  });
});

describe('renew is all or nothing', () => {
  it('a renew applied but unanswered is answered 200 on retry, the hold moved on the record and every server', async () => {
    const group = 'renew-after';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 420 });
    const claimId = 'renew-unanswered';
    expect((await post(makeClaim(t.deps), '/claim-gs', {}, { claimId, group, region: 'us-west', count: 2 })).status).toBe(200);
    expect((await post(makeConfirm(t.deps), '/claims/{claimId}/confirm', { claimId })).status).toBe(200);
    proxy.inject({ match: mentions('TransactWriteItems', `"${claimId}"`), fault: 'reset-after' });
    const renewed = await post(makeRenew(faultyDeps()), '/claims/{claimId}/renew', { claimId }, { seconds: 600 });
    expect(renewed.status).toBe(200);
    const record = (await getClaim(t.deps, claimId))!;
    expect(renewed.body.holdExpiresAt).toBe(new Date(record.holdExpiresAt!).toISOString());
    expect([...(await getGameServers(t.deps, endpoints)).values()].map((s) => [s.status, s.claimId, s.holdExpiresAt])).toEqual([
      ['busy', claimId, record.holdExpiresAt],
      ['busy', claimId, record.holdExpiresAt],
    ]);
  });
});

describe('transient failures answer 503 with Retry-After, never 500', () => {
  it('connections reset before DynamoDB answers on every attempt: claim-gs answers 503 service.unavailable and claims nothing', async () => {
    const group = 'resets';
    const endpoints = await registerFleet(t.deps, { count: 1, group, subnet: 406 });
    proxy.inject({ match: (r) => r.op === 'Query' && r.body.includes(group), fault: 'reset-before', times: 3 });
    const response = await post(makeClaim(faultyDeps()), '/claim-gs', {}, { claimId: 'resets-1', group, region: 'us-west' });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service.unavailable');
    expect(response.headers['retry-after']).toBe('1');
    expect((await getGameServer(t.deps, endpoints[0]!))!.status).toBe('available');
    expect(await getClaim(t.deps, 'resets-1')).toBeUndefined();
  });

  it('a black-holed request times out within the configured request timeout and answers 503', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'blackhole', subnet: 407 });
    proxy.inject({ match: mentions('GetItem', endpoint!), fault: 'blackhole', times: 2 });
    const deps = faultyDeps({ requestTimeoutMs: 300, maxAttempts: 2 });
    const response = await invoke(makeGetGs(deps) as never, { route: '/gs/{endpoint}', pathParameters: { endpoint: endpoint! } });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service.unavailable');
  });

  it('the poller hands a message back (batch item failure) during an outage and applies it on redelivery', async () => {
    const deps = faultyDeps({ maxAttempts: 1 });
    const record = sqsRecord(JSON.stringify(v1Message({ endpoint: '10.1.152.1:7777', podUid: 'outage-pod' })), { messageId: 'outage-msg' });
    proxy.startOutage();
    try {
      expect(await makePoller(deps)(sqsEvent([record]), {} as Context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'outage-msg' }] });
    } finally {
      proxy.endOutage();
    }
    expect(await getGameServer(t.deps, '10.1.152.1:7777')).toBeUndefined();
    expect(await makePoller(deps)(sqsEvent([record]), {} as Context)).toEqual({ batchItemFailures: [] });
    expect((await getGameServer(t.deps, '10.1.152.1:7777'))!.status).toBe('available');
  });
});
