import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { hashApiKey } from '../../lib/auth/keys';
import { getClaim, runClaimTransition } from '../../lib/claims/repo';
import { releaseServer, releaseServerTransition, setServerBusy } from '../../lib/game-servers/claim-writes';
import { getGameServer, getGameServers } from '../../lib/game-servers/records';
import { invoke, PRINCIPAL_KEYS, PRINCIPAL_KEYS_ENV, type ApiResponse } from '../fixtures/http';
import { loadHandlers, observedDeps, snapshotTables, type HttpLambda } from '../fixtures/guard';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

/**
 * A claim belongs to the principal that made it. For every claim-changing route (and the two
 * reads that could reveal a claim id), each kind of caller gets an exact answer: the owner (with
 * either of its two keys: a rotation keeps ownership), another matchmaker, another load balancer,
 * a reader, and an admin. Refused callers change nothing.
 */

const clock = manualClock();
let t: TestStack;
let observed: ReturnType<typeof observedDeps>;
let handlers: Record<string, HttpLambda>;
let claimEndpoints: string[];
const holdEndpoints: string[] = [];

const OWNER = 'key:mm-a';
const GROUP = 'own-claims';

beforeAll(async () => {
  t = await createTestStack({ clock, env: { API_KEYS: PRINCIPAL_KEYS_ENV } });
  observed = observedDeps(t);
  handlers = await loadHandlers(observed.deps);
  claimEndpoints = await registerFleet(t.deps, { count: 60, nodes: 6, group: GROUP, subnet: 41 });
  holdEndpoints.push(...(await registerFleet(t.deps, { count: 30, nodes: 3, group: 'own-holds', subnet: 42 })));
});
afterAll(async () => {
  observed?.destroy();
  await t?.destroy();
});

type Actor = keyof typeof PRINCIPAL_KEYS;
const ACTORS: Actor[] = ['owner', 'ownerRotated', 'otherMatchmaker', 'otherLoadBalancer', 'reader', 'admin'];

let sequence = 0;
const call = (route: string, key: string, request: { method?: string; route: string; pathParameters?: Record<string, string>; body?: unknown }) =>
  invoke(handlers[route]!, { method: 'POST', ...request, key });

/** The owner's leased claim of one server. */
async function ownersClaim(): Promise<{ claimId: string; endpoint: string }> {
  const claimId = `own-${++sequence}`;
  const response = await call('claim-gs', PRINCIPAL_KEYS.owner, { route: '/claim-gs', body: { claimId, group: GROUP } });
  expect(response.status).toBe(200);
  return { claimId, endpoint: response.body.servers[0].endpoint };
}

/** The owner's set-gs-busy hold of one named server. */
async function ownersHold(): Promise<{ claimId: string; endpoint: string }> {
  const claimId = `hold-${++sequence}`;
  const endpoint = holdEndpoints.shift()!;
  const response = await call('set-gs-busy', PRINCIPAL_KEYS.owner, { route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint }, body: { claimId } });
  expect(response.status).toBe(200);
  return { claimId, endpoint };
}

interface Expected {
  status: number;
  code?: string;
  /** A 200 that must not write (reads, a release that finds nothing to release); refusals never write. */
  readOnly?: true;
  /** Checks on a 200's body and the tables after it. */
  then?: (response: ApiResponse, subject: { claimId: string; endpoint: string }) => Promise<void> | void;
}

const NOT_FOUND: Expected = { status: 404, code: 'claim.not_found' };
const FORBIDDEN: Expected = { status: 403, code: 'auth.forbidden' };
const MISMATCH: Expected = { status: 409, code: 'claim.mismatch' };

const claimRecordOwner = async (claimId: string) => (await getClaim(t.deps, claimId))?.owner;

interface RouteCase {
  route: string;
  setup: () => Promise<{ claimId: string; endpoint: string }>;
  request: (subject: { claimId: string; endpoint: string }) => { method?: string; route: string; pathParameters?: Record<string, string>; body?: unknown };
  /** Whether a refusal must leave every table byte for byte as it was. */
  refusalWritesNothing: boolean;
  expected: Record<Actor, Expected>;
}

const confirmed: Expected = {
  status: 200,
  then: async (response, { claimId }) => {
    expect(response.body).toMatchObject({ claimId, status: 'confirmed', owner: OWNER });
    expect(await claimRecordOwner(claimId)).toBe(OWNER);
  },
};
const renewed: Expected = { status: 200, then: (response, { claimId }) => expect(response.body).toMatchObject({ claimId, status: 'leased', renewedAt: expect.any(String) }) };
const released: Expected = {
  status: 200,
  then: async (response, { claimId, endpoint }) => {
    expect(response.body).toMatchObject({ claimId, status: 'released', released: [endpoint] });
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'available' });
  },
};
const replayed: Expected = {
  status: 200,
  then: (response, { claimId, endpoint }) => expect(response.body).toMatchObject({ claimId, replayed: true, servers: [{ endpoint, claimId }] }),
};
const holdRenewed: Expected = {
  status: 200,
  then: async (response, { claimId, endpoint }) => {
    expect(response.body).toMatchObject({ claimId, server: { endpoint, status: 'busy', claimId } });
    expect((await getGameServer(t.deps, endpoint))?.owner).toBe(OWNER);
  },
};
const HOLD_TAKEN: Expected = { status: 409, code: 'gs.not_available' };
const setAvailable = (released: boolean): Expected => ({
  status: 200,
  ...(released ? {} : { readOnly: true as const }),
  then: async (response, { endpoint, claimId }) => {
    expect(response.body.released).toBe(released);
    expect(response.body.server.status).toBe(released ? 'available' : 'busy');
    // Not released: the answer is the one for a claim id that holds nothing, without the claim id.
    expect('claimId' in response.body.server).toBe(false);
    expect(await getGameServer(t.deps, endpoint)).toMatchObject(released ? { status: 'available' } : { status: 'busy', claimId, owner: OWNER });
  },
});
const readClaim = (visible: boolean): Expected =>
  visible
    ? { status: 200, readOnly: true, then: (response, { claimId, endpoint }) => expect(response.body).toMatchObject({ claimId, owner: OWNER, servers: [{ endpoint, claimId }] }) }
    : NOT_FOUND;
const readServer = (withClaimId: boolean): Expected => ({
  status: 200,
  readOnly: true,
  then: (response, { claimId, endpoint }) => {
    expect(response.body).toMatchObject({ endpoint, status: 'claimed', leaseExpiresAt: expect.any(String) });
    expect(response.body.claimId).toBe(withClaimId ? claimId : undefined);
  },
});

const CASES: RouteCase[] = [
  {
    route: 'claim-gs',
    setup: ownersClaim,
    request: ({ claimId }) => ({ route: '/claim-gs', body: { claimId, group: GROUP } }),
    // Servers first: another principal's attempt takes and gives back a free server before its
    // record write finds the claim id taken (checked separately below).
    refusalWritesNothing: false,
    expected: { owner: replayed, ownerRotated: replayed, otherMatchmaker: MISMATCH, otherLoadBalancer: MISMATCH, reader: FORBIDDEN, admin: MISMATCH },
  },
  {
    route: 'confirm-claim',
    setup: ownersClaim,
    request: ({ claimId }) => ({ route: '/claims/{claimId}/confirm', pathParameters: { claimId } }),
    refusalWritesNothing: true,
    expected: { owner: confirmed, ownerRotated: confirmed, otherMatchmaker: NOT_FOUND, otherLoadBalancer: NOT_FOUND, reader: FORBIDDEN, admin: confirmed },
  },
  {
    route: 'renew-claim',
    setup: ownersClaim,
    request: ({ claimId }) => ({ route: '/claims/{claimId}/renew', pathParameters: { claimId }, body: { seconds: 120 } }),
    refusalWritesNothing: true,
    expected: { owner: renewed, ownerRotated: renewed, otherMatchmaker: NOT_FOUND, otherLoadBalancer: NOT_FOUND, reader: FORBIDDEN, admin: renewed },
  },
  {
    route: 'release-claim',
    setup: ownersClaim,
    request: ({ claimId }) => ({ route: '/claims/{claimId}/release', pathParameters: { claimId } }),
    refusalWritesNothing: true,
    expected: { owner: released, ownerRotated: released, otherMatchmaker: NOT_FOUND, otherLoadBalancer: NOT_FOUND, reader: FORBIDDEN, admin: released },
  },
  {
    route: 'set-gs-busy',
    setup: ownersHold,
    request: ({ claimId, endpoint }) => ({ route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint }, body: { claimId } }),
    refusalWritesNothing: true,
    // An admin acts for others on existing claims, but never makes or renews holds in their name.
    expected: { owner: holdRenewed, ownerRotated: holdRenewed, otherMatchmaker: HOLD_TAKEN, otherLoadBalancer: HOLD_TAKEN, reader: FORBIDDEN, admin: HOLD_TAKEN },
  },
  {
    route: 'set-gs-available',
    setup: ownersHold,
    request: ({ claimId, endpoint }) => ({ route: '/set-gs-available/{endpoint}', pathParameters: { endpoint }, body: { claimId } }),
    refusalWritesNothing: true,
    expected: {
      owner: setAvailable(true),
      ownerRotated: setAvailable(true),
      otherMatchmaker: setAvailable(false),
      otherLoadBalancer: setAvailable(false),
      reader: FORBIDDEN,
      admin: setAvailable(true),
    },
  },
  {
    route: 'get-claim',
    setup: ownersClaim,
    request: ({ claimId }) => ({ method: 'GET', route: '/claims/{claimId}', pathParameters: { claimId } }),
    refusalWritesNothing: true,
    expected: { owner: readClaim(true), ownerRotated: readClaim(true), otherMatchmaker: readClaim(false), otherLoadBalancer: readClaim(false), reader: readClaim(false), admin: readClaim(true) },
  },
  {
    route: 'get-gs',
    setup: ownersClaim,
    request: ({ endpoint }) => ({ method: 'GET', route: '/gs/{endpoint}', pathParameters: { endpoint } }),
    refusalWritesNothing: true,
    expected: {
      owner: readServer(true),
      ownerRotated: readServer(true),
      otherMatchmaker: readServer(false),
      otherLoadBalancer: readServer(false),
      reader: readServer(false),
      admin: readServer(true),
    },
  },
];

describe('claims belong to their caller: every route x every kind of caller', () => {
  it.each(CASES.flatMap((c) => ACTORS.map((actor) => [c.route, actor, c.expected[actor].status, c] as const)))(
    '%s by %s answers %i',
    async (_route, actor, _status, testCase) => {
      const subject = await testCase.setup();
      const before = await snapshotTables(t);
      observed.sent.length = 0;
      const response = await call(testCase.route, PRINCIPAL_KEYS[actor], testCase.request(subject));
      const expected = testCase.expected[actor];
      expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status: expected.status, code: expected.code });
      if ((expected.status !== 200 && testCase.refusalWritesNothing) || expected.readOnly) expect(await snapshotTables(t)).toEqual(before);
      await expected.then?.(response, subject);
    },
  );

  it('another principal retrying a claim id gets claim.mismatch, and the claim, its server and the pool stay as they were', async () => {
    const subject = await ownersClaim();
    const recordBefore = await getClaim(t.deps, subject.claimId);
    const serverBefore = await getGameServer(t.deps, subject.endpoint);
    for (const key of [PRINCIPAL_KEYS.otherMatchmaker, PRINCIPAL_KEYS.otherLoadBalancer, PRINCIPAL_KEYS.admin]) {
      const response = await call('claim-gs', key, { route: '/claim-gs', body: { claimId: subject.claimId, group: GROUP } });
      expect({ status: response.status, code: response.body.error.code }).toEqual({ status: 409, code: 'claim.mismatch' });
      expect(JSON.stringify(response.body)).not.toContain(subject.endpoint);
    }
    expect(await getClaim(t.deps, subject.claimId)).toEqual(recordBefore);
    expect(await getGameServer(t.deps, subject.endpoint)).toEqual(serverBefore);
    const pool = [...(await getGameServers(t.deps, claimEndpoints)).values()];
    expect(pool.filter((server) => server.owner !== undefined && server.owner !== OWNER)).toEqual([]);
  });

  it.each(['one function instance', 'their own function instances'])('two principals racing one new claim id through %s: exactly one gets the servers, the other claim.mismatch', async (instances) => {
    const claimId = `race-${++sequence}`;
    const handlerFor = () => (instances === 'one function instance' ? handlers['claim-gs']! : makeClaim(observed.deps));
    const [a, b] = await Promise.all(
      [PRINCIPAL_KEYS.owner, PRINCIPAL_KEYS.otherMatchmaker].map((key) =>
        invoke(handlerFor(), { method: 'POST', route: '/claim-gs', body: { claimId, group: GROUP }, key }),
      ),
    );
    const outcomes = [a!, b!].map((r) => (r.status === 200 ? 'claimed' : r.body.error.code)).sort();
    expect(outcomes).toEqual(['claim.mismatch', 'claimed']);
    const winner = a!.status === 200 ? OWNER : 'key:mm-b';
    const record = await getClaim(t.deps, claimId);
    expect(record?.owner).toBe(winner);
    const servers = await getGameServers(t.deps, record!.endpoints);
    expect([...servers.values()].map((s) => [s.claimId, s.owner])).toEqual([[claimId, winner]]);
  });
});

describe('ownership is enforced by DynamoDB, not only by the code before it', () => {
  const stranger = { principal: 'key:mm-b', admin: false };

  it('a claim transition for another principal is refused by the record condition, and writes nothing', async () => {
    const { claimId, endpoint } = await ownersClaim();
    const claim = (await getClaim(t.deps, claimId))!;
    const before = await snapshotTables(t);
    const result = await runClaimTransition(t.deps, claim, stranger, { from: ['leased'], set: { status: 'released', releasedAt: clock() } }, [
      releaseServerTransition(t.config.tables.gameServers, { endpoint, claimId, attemptId: claim.attemptId, now: clock(), status: 'claimed' }),
    ]);
    expect(result).toEqual({ kind: 'record-changed' });
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('a direct hold is released only for its owner (or an admin), and renewed only by its owner', async () => {
    const { claimId, endpoint } = await ownersHold();
    const before = await snapshotTables(t);
    expect(await releaseServer(t.deps, endpoint, claimId, clock(), { directHold: stranger })).toBe('not-held');
    const renew = await setServerBusy(t.deps, { endpoint, claimId, owner: stranger.principal, now: clock(), holdExpiresAt: clock() + 60_000 });
    expect(renew).toMatchObject({ kind: 'refused', current: { claimId, owner: OWNER, status: 'busy' } });
    expect(await snapshotTables(t)).toEqual(before);
    expect(await releaseServer(t.deps, endpoint, claimId, clock(), { directHold: { principal: 'key:ops', admin: true } })).toBe('released');
    expect(await getGameServer(t.deps, endpoint)).toMatchObject({ status: 'available' });
    expect((await getGameServer(t.deps, endpoint))?.owner).toBeUndefined();
  });
});

describe('the audit trail', () => {
  it('logs exactly one line per request with request id, principal, role, route, claim and outcome; never a key or its digest', async () => {
    const { Logger } = await import('@aws-lambda-powertools/logger');
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const logger = new Logger({ serviceName: 'audit-test', logLevel: 'INFO' });
    const audited = await loadHandlers(t.depsWith({ logger }));
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return rest.length >= 0;
    }) as typeof process.stdout.write;
    let responses: ApiResponse[];
    try {
      const claimId = `audit-${++sequence}`;
      responses = [
        await invoke(audited['claim-gs']!, { method: 'POST', route: '/claim-gs', body: { claimId, group: GROUP }, key: PRINCIPAL_KEYS.ownerRotated }),
        await invoke(audited['confirm-claim']!, { method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId }, key: PRINCIPAL_KEYS.otherLoadBalancer }),
        await invoke(audited['release-claim']!, { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId }, key: PRINCIPAL_KEYS.reader }),
        await invoke(audited['release-claim']!, { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId }, key: 'not-a-key-of-ours' }),
        await invoke(audited['release-claim']!, { method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId }, key: PRINCIPAL_KEYS.admin }),
      ];
    } finally {
      process.stdout.write = write;
    }
    const records = lines.flatMap((chunk) => chunk.split('\n')).filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const audit = records.filter((record) => record.message === 'request');
    expect(audit.map((record) => record.requestId)).toEqual(responses.map((response) => response.headers['x-request-id']));
    const claimId = audit[0]!.claimId;
    expect(audit.map(({ principal, principalId, role, route, status, outcome }) => ({ principal, principalId, role, route, status, outcome }))).toEqual([
      { principal: 'mm-a', principalId: 'key:mm-a', role: 'matchmaker', route: 'POST /claim-gs', status: 200, outcome: 'ok' },
      { principal: 'lb-pool-b', principalId: 'key:lb-pool-b', role: 'load-balancer', route: 'POST /claims/{claimId}/confirm', status: 404, outcome: 'claim.not_found' },
      { principal: 'dash', principalId: 'key:dash', role: 'reader', route: 'POST /claims/{claimId}/release', status: 403, outcome: 'auth.forbidden' },
      { principal: undefined, principalId: undefined, role: undefined, route: 'POST /claims/{claimId}/release', status: 401, outcome: 'auth.unauthorized' },
      { principal: 'ops', principalId: 'key:ops', role: 'admin', route: 'POST /claims/{claimId}/release', status: 200, outcome: 'ok' },
    ]);
    expect(audit[0]).toMatchObject({ claimId, endpoints: [expect.any(String)], replayed: false, keyId: hashApiKey(PRINCIPAL_KEYS.ownerRotated).slice(0, 8) });
    expect(audit.slice(1, 3).map((record) => record.claimId)).toEqual([claimId, undefined]);
    expect(audit[4]).toMatchObject({ claimId, released: audit[0]!.endpoints });
    for (const record of audit) expect(typeof record.latencyMs).toBe('number');
    const everything = lines.join('');
    for (const key of [...Object.values(PRINCIPAL_KEYS), 'not-a-key-of-ours']) {
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(hashApiKey(key));
    }
  });
});
