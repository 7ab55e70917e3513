import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { makeHandler as makeRenew } from '../../functions/renew-claim';
import { makeHandler as makeSetBusy } from '../../functions/set-gs-busy';
import { makeHandler as makeSetAvailable } from '../../functions/set-gs-available';
import { makeHandler as makePoller } from '../../functions/status-poller';
import { getClaim } from '../../lib/claims/repo';
import { CLAIM_RECORD_RETENTION_MS } from '../../lib/claims/deadlines';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { getGameServer } from '../../lib/game-servers/records';
import { LEGACY_GS_BODY, T0, gsEvent } from '../fixtures/events';
import { API_KEYS_ENV, invoke } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { sqsEvent, sqsRecord } from '../fixtures/sqs';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

// Busy servers come back by themselves (holds), renewals keep claims alive, and events sent
// before a claim never undo it — v1 and legacy alike.

const clock = manualClock(T0 + 60_000);
let t: TestStack;

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: API_KEYS_ENV, HEARTBEAT_TIMEOUT_SECONDS: '3600' } });
});
afterAll(async () => t?.destroy());

const post = (handler: (...args: never[]) => unknown, route: string, pathParameters: Record<string, string> = {}, body?: unknown) =>
  invoke(handler as never, { method: 'POST', route, pathParameters, ...(body !== undefined ? { body } : {}) });
const claim = (body: Record<string, unknown>) => post(makeClaim(t.deps), '/claim-gs', {}, { region: 'us-west', ...body });
const confirm = (claimId: string) => post(makeConfirm(t.deps), '/claims/{claimId}/confirm', { claimId });
const renew = (claimId: string, body?: unknown) => post(makeRenew(t.deps), '/claims/{claimId}/renew', { claimId }, body);
const release = (claimId: string) => post(makeRelease(t.deps), '/claims/{claimId}/release', { claimId });
const setBusy = (endpoint: string, body: unknown) => post(makeSetBusy(t.deps), '/set-gs-busy/{endpoint}', { endpoint }, body);

describe('holds: busy servers come back', () => {
  it('a confirmed claim holds its servers until its hold runs out; then they are claimable again and the old claim cannot renew', async () => {
    const group = 'hold-expiry';
    const [endpoint] = await registerFleet(t.deps, { count: 1, group, subnet: 301 });
    expect((await claim({ claimId: 'hold-a', group, holdSeconds: 10 })).status).toBe(200);
    const confirmed = await confirm('hold-a');
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'confirmed', holdExpiresAt: new Date(clock() + 10_000).toISOString(), holdSeconds: 10 });
    expect(confirmed.body.servers[0]).toMatchObject({ status: 'busy', holdExpiresAt: new Date(clock() + 10_000).toISOString() });
    expect((await claim({ claimId: 'hold-b', group })).status).toBe(409);

    clock.advance(10_001);
    const taken = await claim({ claimId: 'hold-b', group });
    expect(taken.status).toBe(200);
    expect(taken.body.servers[0].endpoint).toBe(endpoint);
    const lateRenew = await renew('hold-a');
    expect(lateRenew.status).toBe(409);
    expect(lateRenew.body.error).toMatchObject({ code: 'claim.lost', details: { lost: [{ endpoint, status: 'taken' }] } });
  });

  it('renewing a confirmed claim moves the hold on the record and every server; the record lives past it', async () => {
    const group = 'hold-renew';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 302 });
    expect((await claim({ claimId: 'renew-1', group, count: 2, holdSeconds: 30 })).status).toBe(200);
    expect((await confirm('renew-1')).status).toBe(200);
    clock.advance(20_000);
    const renewed = await renew('renew-1', { seconds: 60 });
    expect(renewed.status).toBe(200);
    const until = clock() + 60_000;
    expect(renewed.body).toMatchObject({ status: 'confirmed', holdExpiresAt: new Date(until).toISOString(), renewedAt: new Date(clock()).toISOString() });
    for (const endpoint of endpoints) {
      expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'busy', claimId: 'renew-1', holdExpiresAt: until, availableAt: until });
    }
    const record = (await getClaim(t.deps, 'renew-1'))!;
    expect(record.holdExpiresAt).toBe(until);
    expect(record.expiresAt * 1000).toBeGreaterThanOrEqual(until + CLAIM_RECORD_RETENTION_MS);

    clock.advance(30_000); // past the first hold, inside the renewed one
    expect((await claim({ claimId: 'renew-other', group, count: 2 })).status).toBe(409);
  });

  it('renewing a leased claim moves its lease; a released claim cannot be renewed', async () => {
    const group = 'lease-renew';
    const [endpoint] = await registerFleet(t.deps, { count: 1, group, subnet: 303 });
    expect((await claim({ claimId: 'lrenew', group, leaseSeconds: 10 })).status).toBe(200);
    clock.advance(8_000);
    const renewed = await renew('lrenew');
    expect(renewed.body).toMatchObject({ status: 'leased', leaseExpiresAt: new Date(clock() + 10_000).toISOString(), expired: false });
    expect(await getGameServer(t.deps, endpoint!)).toMatchObject({ status: 'claimed', leaseExpiresAt: clock() + 10_000, availableAt: clock() + 10_000 });
    clock.advance(8_000); // past the first lease
    expect((await claim({ claimId: 'lrenew-other', group })).status).toBe(409);
    expect((await release('lrenew')).status).toBe(200);
    const afterRelease = await renew('lrenew');
    expect(afterRelease.status).toBe(409);
    expect(afterRelease.body.error.code).toBe('claim.released');
  });

  it('refuses holds and renewals past the configured maximum with 400 and changes nothing', async () => {
    const group = 'hold-max';
    await registerFleet(t.deps, { count: 1, group, subnet: 304 });
    const tooLong = await claim({ claimId: 'hold-max-1', group, holdSeconds: 8 * 86_400 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('claim.hold_too_long');
    expect(await getClaim(t.deps, 'hold-max-1')).toBeUndefined();
    expect((await claim({ claimId: 'hold-max-2', group })).status).toBe(200);
    const renewTooLong = await renew('hold-max-2', { seconds: 3601 });
    expect(renewTooLong.status).toBe(400);
    expect(renewTooLong.body.error.code).toBe('claim.lease_too_long');
    expect((await getClaim(t.deps, 'hold-max-2'))!.leaseExpiresAt).toBe(clock() + 60_000);
  });

  it('set-gs-busy holds the server for holdSeconds; the same claimId renews it; after it runs out another caller gets it', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'direct-hold', subnet: 305 });
    const first = await setBusy(endpoint!, { claimId: 'direct-1', holdSeconds: 20 });
    expect(first.status).toBe(200);
    expect(first.body.holdExpiresAt).toBe(new Date(clock() + 20_000).toISOString());
    clock.advance(15_000);
    const renewed = await setBusy(endpoint!, { claimId: 'direct-1', holdSeconds: 20 });
    expect(renewed.body.holdExpiresAt).toBe(new Date(clock() + 20_000).toISOString());
    clock.advance(15_000);
    expect((await setBusy(endpoint!, { claimId: 'direct-2' })).status).toBe(409);
    clock.advance(5_001);
    const other = await setBusy(endpoint!, { claimId: 'direct-2' });
    expect(other.status).toBe(200);
    expect(other.body.server).toMatchObject({ status: 'busy', claimId: 'direct-2' });
  });

  it('set-gs-available never releases a server of a claim record (the claim is released as a whole)', async () => {
    const group = 'no-half-release';
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group, subnet: 306 });
    expect((await claim({ claimId: 'whole', group, count: 2 })).status).toBe(200);
    expect((await confirm('whole')).status).toBe(200);
    const attempt = await post(makeSetAvailable(t.deps), '/set-gs-available/{endpoint}', { endpoint: endpoints[0]! }, { claimId: 'whole' });
    expect(attempt.body).toMatchObject({ released: false, server: { status: 'busy', claimId: 'whole' } });
    expect((await getClaim(t.deps, 'whole'))!.status).toBe('confirmed');
  });
});

describe('events sent before a claim never undo it', () => {
  const poller = () => makePoller(t.deps);
  const legacy = (ip: string, status: 'init' | 'terminating', sentTimestamp: number) =>
    sqsRecord(LEGACY_GS_BODY.replace('192.168.1.10', ip).replace('"init"', `"${status}"`), { sentTimestamp });

  it('a legacy init sent before the server was claimed but delivered after leaves it claimed; a restart after the claim is a new pod', async () => {
    const ip = '192.168.31.1';
    const endpoint = `${ip}:40001`;
    const group = 'mockup-server-grp1';
    await poller()(sqsEvent([legacy(ip, 'init', clock() - 5000)]), {} as Context);
    const claimed = await claim({ claimId: 'legacy-claim', group, leaseSeconds: 600 });
    expect(claimed.status).toBe(200);
    expect(claimed.body.servers[0].endpoint).toBe(endpoint);
    const claimedAt = clock();

    // A copy sent 1 s before the claim (a retried send), delivered now.
    clock.advance(1000);
    await poller()(sqsEvent([legacy(ip, 'init', claimedAt - 1000)]), {} as Context);
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'claimed', claimId: 'legacy-claim' });
    expect((await confirm('legacy-claim')).status).toBe(200);
    await poller()(sqsEvent([legacy(ip, 'init', claimedAt - 500)]), {} as Context);
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'busy', claimId: 'legacy-claim' });

    // The pod really restarts after the claim: a new pod, free again.
    await poller()(sqsEvent([legacy(ip, 'init', claimedAt + 500)]), {} as Context);
    const restarted = (await getGameServer(t.deps, endpoint))!;
    expect(restarted).toMatchObject({ status: 'available', podUid: `legacy-${claimedAt + 500}` });
    expect(restarted.claimId).toBeUndefined();
  });

  it('a newer v1 pod whose ready was sent before the claim takes the record over and keeps the claim', async () => {
    const endpoint = '10.1.51.1:7777';
    const group = 'v1-before-claim';
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'pod-old', node: 'node-v1', group, sentAt: clock() - 10_000 }));
    expect((await claim({ claimId: 'v1-claim', group })).status).toBe(200);
    const claimedAt = clock();
    clock.advance(500);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'pod-new', node: 'node-v1', group, sentAt: claimedAt - 100 }));
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'claimed', claimId: 'v1-claim', podUid: 'pod-new' });
    // That pod's later heartbeats keep the claim too; the old pod's events are ignored.
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'pod-new', node: 'node-v1', group, event: 'heartbeat', seq: 2, sentAt: clock() }));
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint, podUid: 'pod-old', node: 'node-v1', group, event: 'terminating', seq: 5, sentAt: claimedAt - 50 }));
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'claimed', claimId: 'v1-claim', podUid: 'pod-new', seq: 2 });
  });
});
