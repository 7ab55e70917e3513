import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { allOf, anyOf, attributeNames, isConditionFailure, updateExpression, writeExpressions } from '../dynamo';
import { mayAct, ownerClause, type Actor } from '../ownership';
import { claimableAtWritersClock, heldByAttempt, heldDirectly, isBusy, isClaimed, isFresh, isHeld, isRetired, serverExists, statusIs } from './conditions';
import { poolPosition } from './availability-keys';
import { parseGameServerItem } from './records';
import { staleWatchKey } from './stale-watch';
import type { ServerFilter } from './select';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/** What every write sets besides its change: the record's version and update time. */
const RECORD_CHANGED = ['#version = #version + :one', '#updatedAt = :now'];
/** Back in the pool: at a new pool position, stamped with the time it returned (`:now`). */
const RETURN_TO_POOL = ['#status = :available', '#availableAt = :position', '#returnedAt = :now'];
const returnToPoolValues = (endpoint: string, claimId: string) => ({ ':available': 'available', ':position': poolPosition(endpoint, claimId) });
/** Fields a server carries while a claim holds it; releasing removes them all. */
const CLAIM_FIELDS = ['#claimId', '#claimAttempt', '#owner', '#claimedAt', '#leaseExpiresAt', '#holdExpiresAt', '#watch'];
/**
 * A write that makes a server held puts it in the stale-watch index (at its shard, `:watch`) and
 * clears an old stale mark: it requires a fresh server (see lib/game-servers/stale-watch.ts).
 */
const WATCHED = '#watch = :watch';
const UNMARKED = '#staleAt';

export interface ClaimServerUpdate {
  endpoint: string;
  claimId: string;
  /** The claim attempt, recorded on the server (see ClaimItem.attemptId). */
  attemptId: string;
  /** The attempt's clock: the server must have been claimable at this time. */
  now: number;
  /** End of the lease; also the server's availableAt, so the index offers it again from then. */
  leaseExpiresAt: number;
  /** What the claimer saw when it picked the server; the write holds only if it still holds. */
  expect: ServerFilter & { node?: string };
  /** The principal making the claim. */
  owner: string;
}

/**
 * The conditional update that claims one server under a lease (claimServer sends it).
 * It applies when EITHER the server is free for this attempt:
 * - exists:    the record is there (a missing one is "not found", not "taken");
 * - claimable: availableAt <= now: available, or a lease/hold that has run out, and not returned
 *              to the pool after now (returnedAt). `now` is the attempt's own clock, so a copy of
 *              this write that arrives late (a delayed packet, a retry after the attempt gave up)
 *              finds any later lease (availableAt > now) or release (returnedAt > now) and does
 *              nothing;
 * - fresh:     heartbeated within the timeout (freshUntil > now);
 * - node, region, group, labels: still the server the claimer picked (a new pod may have taken
 *              over the endpoint since the listing), so distinct-node guarantees hold at write time;
 * OR it is this attempt's own earlier write (`ownAttempt`: the SDK retried after a lost answer):
 * then it is success, not a lost race.
 * Effect: status claimed under the lease; availableAt = lease expiry, so the index offers the
 * server again when the lease runs out.
 */
export function claimServerUpdate(tableName: string, update: ClaimServerUpdate) {
  const values: Record<string, unknown> = {
    ':now': update.now,
    ':claimId': update.claimId,
    ':attempt': update.attemptId,
    ':claimed': 'claimed',
    ':lease': update.leaseExpiresAt,
    ':owner': update.owner,
    ':watch': staleWatchKey(update.endpoint),
    ':one': 1,
  };
  const free: Record<string, string> = { exists: serverExists, ...claimableAtWritersClock, fresh: isFresh };
  const expect = update.expect;
  for (const field of ['node', 'region', 'group'] as const) {
    if (expect[field] === undefined) continue;
    values[`:${field}`] = expect[field];
    free[field] = `#${field} = :${field}`;
  }
  // Label keys are data, not identifiers: each gets a placeholder of its own.
  const labelNames: Record<string, string> = {};
  Object.entries(expect.labels ?? {}).forEach(([key, value], i) => {
    labelNames[`#lk${i}`] = key;
    values[`:lv${i}`] = value;
    free[`label${i}`] = `#labels.#lk${i} = :lv${i}`;
  });
  const condition = anyOf({ free: allOf(free), ownAttempt: allOf({ heldByAttempt, claimed: isClaimed }) });
  const change = updateExpression({
    set: [
      '#status = :claimed',
      '#claimId = :claimId',
      '#claimAttempt = :attempt',
      '#owner = :owner',
      '#claimedAt = :now',
      '#leaseExpiresAt = :lease',
      '#availableAt = :lease',
      WATCHED,
      ...RECORD_CHANGED,
    ],
    remove: ['#holdExpiresAt', UNMARKED],
  });
  return {
    TableName: tableName,
    Key: { endpoint: update.endpoint },
    ...writeExpressions({ condition, update: change, values, names: labelNames }),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** The current record a refused write returned (ReturnValuesOnConditionCheckFailure), if it exists. */
function refusal(error: ConditionalCheckFailedException): { kind: 'refused'; current?: GameServerItem } {
  return { kind: 'refused', ...(error.Item ? { current: parseGameServerItem(unmarshall(error.Item)) } : {}) };
}

/**
 * Claims one server with a single conditional write (see claimServerUpdate). 'refused' carries
 * the server's current record (absent: it does not exist).
 */
export async function claimServer(
  deps: RepoDeps,
  update: ClaimServerUpdate,
): Promise<{ kind: 'claimed' } | { kind: 'refused'; current?: GameServerItem }> {
  try {
    await deps.ddb.send(new UpdateCommand(claimServerUpdate(deps.config.tables.gameServers, update)));
    return { kind: 'claimed' };
  } catch (error) {
    if (isConditionFailure(error)) return refusal(error);
    throw error;
  }
}

/** A transaction item's Update for one server of a claim (the claims repo sends them). */
export interface ServerTransition {
  TableName: string;
  Key: { endpoint: string };
  ConditionExpression: string;
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD';
}

/** One server's conditional update: `set` and `remove` are the clauses of the change itself. */
function serverTransition(
  tableName: string,
  endpoint: string,
  condition: string,
  change: { set?: string[]; remove?: string[] },
  values: Record<string, unknown>,
): ServerTransition {
  const update = updateExpression({ set: [...(change.set ?? []), ...RECORD_CHANGED], ...(change.remove ? { remove: change.remove } : {}) });
  return {
    TableName: tableName,
    Key: { endpoint },
    ConditionExpression: condition,
    UpdateExpression: update,
    ExpressionAttributeNames: attributeNames(condition, update),
    ExpressionAttributeValues: { ...values, ':one': 1 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

interface HeldServer {
  endpoint: string;
  claimId: string;
  attemptId: string;
  now: number;
}

/**
 * Confirm, for one server: claimed by this attempt (even past its lease, as long as nobody else
 * claimed it since) and still fresh -> busy until `holdExpiresAt`, which is also its availableAt:
 * a holder that stops renewing gets its server back in the pool when the hold runs out.
 */
export function confirmServerTransition(tableName: string, server: HeldServer & { holdExpiresAt: number }): ServerTransition {
  return serverTransition(
    tableName,
    server.endpoint,
    allOf({ heldByAttempt, claimed: isClaimed, fresh: isFresh }),
    { set: ['#status = :busy', '#holdExpiresAt = :hold', '#availableAt = :hold'], remove: ['#leaseExpiresAt'] },
    { ':claimId': server.claimId, ':attempt': server.attemptId, ':claimed': 'claimed', ':busy': 'busy', ':now': server.now, ':hold': server.holdExpiresAt },
  );
}

/**
 * Renew, for one server: still held by this attempt in the given status (claimed: the lease
 * moves; busy: the hold moves) and fresh. availableAt follows the new deadline.
 */
export function renewServerTransition(tableName: string, server: HeldServer & { status: 'claimed' | 'busy'; until: number }): ServerTransition {
  const deadline = server.status === 'claimed' ? '#leaseExpiresAt' : '#holdExpiresAt';
  return serverTransition(
    tableName,
    server.endpoint,
    allOf({ heldByAttempt, status: statusIs, fresh: isFresh }),
    { set: [`${deadline} = :until`, '#availableAt = :until'] },
    { ':claimId': server.claimId, ':attempt': server.attemptId, ':status': server.status, ':now': server.now, ':until': server.until },
  );
}

/**
 * Release, for one server this attempt holds. A claimed or busy server returns to the pool at a
 * new pool position (availableAt; availability-keys.ts poolPosition), stamped with the time it
 * returned (returnedAt: late copies of older claims find it). A draining or terminated
 * one keeps its status and only drops the claim, so that an un-drained node cannot bring the
 * claim back.
 */
export function releaseServerTransition(tableName: string, server: HeldServer & { status: GameServerItem['status'] }): ServerTransition {
  const inPool = server.status === 'claimed' || server.status === 'busy';
  return serverTransition(
    tableName,
    server.endpoint,
    allOf({ heldByAttempt, status: inPool ? isHeld : isRetired }),
    inPool ? { set: RETURN_TO_POOL, remove: CLAIM_FIELDS } : { remove: CLAIM_FIELDS },
    {
      ':claimId': server.claimId,
      ':attempt': server.attemptId,
      ':now': server.now,
      ...(inPool
        ? { ':claimed': 'claimed', ':busy': 'busy', ...returnToPoolValues(server.endpoint, server.claimId) }
        : { ':draining': 'draining', ':terminated': 'terminated' }),
    },
  );
}

/**
 * set-gs-busy in one conditional write on the server record (no claim record: the endpoint is
 * fixed, so the record itself is the idempotency key). A "direct" hold: no claim attempt.
 * Condition: the server exists and is claimable now (available, or a lease/hold run out, and
 * fresh) — or it is already busy under this very claim id as a direct hold of this owner, which
 * makes a repeated call succeed with the same server and renews the hold (another principal
 * repeating the claim id finds the server not available, whatever its role). A renewal never
 * shortens the hold: a late copy of an earlier call (an SDK retry, a delayed packet) that finds
 * the hold already reaching further writes nothing and answers with the hold as it stands —
 * otherwise it would move the hold's end back and give the server away while its holder was told
 * it holds it.
 * Effect: busy until `holdExpiresAt` (its availableAt: the server comes back by itself), owned by
 * `owner`.
 */
export async function setServerBusy(
  deps: RepoDeps,
  hold: { endpoint: string; claimId: string; owner: string; now: number; holdExpiresAt: number },
): Promise<{ kind: 'busy'; item: GameServerItem } | { kind: 'refused'; current?: GameServerItem }> {
  const holder: Actor = { principal: hold.owner, admin: false };
  const ownedByHolder = ownerClause(holder).clause!;
  const condition = allOf({
    exists: serverExists,
    freeOrOwn: anyOf({
      free: allOf({ ...claimableAtWritersClock, fresh: isFresh }),
      ownHold: allOf({ heldDirectly, busy: isBusy, owner: ownedByHolder, notShortened: '#holdExpiresAt <= :hold' }),
    }),
  });
  const update = updateExpression({
    set: ['#status = :busy', '#claimId = :claimId', '#owner = :owner', '#claimedAt = :now', '#holdExpiresAt = :hold', '#availableAt = :hold', WATCHED, ...RECORD_CHANGED],
    remove: ['#leaseExpiresAt', '#claimAttempt', UNMARKED],
  });
  try {
    const result = await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint: hold.endpoint },
        ...writeExpressions({
          condition,
          update,
          values: {
            ':now': hold.now,
            ':claimId': hold.claimId,
            ':owner': hold.owner,
            ':busy': 'busy',
            ':hold': hold.holdExpiresAt,
            ':watch': staleWatchKey(hold.endpoint),
            ':one': 1,
          },
        }),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'busy', item: parseGameServerItem(result.Attributes!) };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const refused = refusal(error);
    // This holder's own hold, already reaching further: the call's effect is there.
    const current = refused.current;
    const ownLongerHold =
      current?.status === 'busy' && current.claimId === hold.claimId && current.claimAttempt === undefined && mayAct(holder, current.owner) && (current.holdExpiresAt ?? 0) > hold.holdExpiresAt;
    return ownLongerHold ? { kind: 'busy', item: current } : refused;
  }
}

/** Who releases a server: an uncommitted claim attempt being undone, or a direct hold's holder. */
export type ServerHolder = { attemptId: string } | { directHold: Actor };

/**
 * Returns a server to the pool if the given holder still holds it (claimed or busy): a claim
 * attempt that is being undone (`attemptId`), or a direct set-gs-busy hold of this actor (no
 * attempt: servers of a claim record are released with their claim, all together; another
 * principal's hold is not this actor's to release unless it is an admin). Draining and terminated
 * servers, and servers held by anyone else, are left alone ('not-held').
 */
export async function releaseServer(deps: RepoDeps, endpoint: string, claimId: string, now: number, holder: ServerHolder): Promise<'released' | 'not-held'> {
  const owner = 'directHold' in holder ? ownerClause(holder.directHold) : { values: {} };
  const held: Record<string, string> =
    'attemptId' in holder ? { heldByAttempt } : { heldDirectly, ...(owner.clause ? { owner: owner.clause } : {}) };
  const condition = allOf({ ...held, status: isHeld });
  const update = updateExpression({ set: [...RETURN_TO_POOL, ...RECORD_CHANGED], remove: CLAIM_FIELDS });
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint },
        ...writeExpressions({
          condition,
          update,
          values: {
            ':claimId': claimId,
            ':claimed': 'claimed',
            ':busy': 'busy',
            ...returnToPoolValues(endpoint, claimId),
            ':now': now,
            ':one': 1,
            ...('attemptId' in holder ? { ':attempt': holder.attemptId } : owner.values),
          },
        }),
      }),
    );
    return 'released';
  } catch (error) {
    if (isConditionFailure(error)) return 'not-held';
    throw error;
  }
}

/**
 * Held since before the writer's clock: a copy of a release that arrives late (an SDK retry, a
 * delayed packet) finds a later claim of the same server (`claimedAt` is the claimer's clock) and
 * does nothing.
 */
const claimedBefore = '#claimedAt <= :now';

/**
 * The last step of a replace (lib/claims/replace.ts), for the lost server: it left the claim's
 * `endpoints` in the replace's commit, and the claim's attempt still holds it. Claimed or busy
 * (a stale server, a lease or hold that ran out) -> back to the pool, as a release returns it;
 * draining or terminated -> it only drops the claim and keeps its status (never back in the pool
 * while its node drains). Condition: held by the attempt, still in the status the caller read, and
 * held since before `now` (claimedBefore).
 */
export function releaseLostServerUpdate(tableName: string, server: HeldServer & { status: GameServerItem['status'] }): ServerTransition {
  const release = releaseServerTransition(tableName, server);
  const condition = allOf({ release: release.ConditionExpression, claimedBefore });
  return { ...release, ConditionExpression: condition, ExpressionAttributeNames: attributeNames(condition, release.UpdateExpression) };
}

/**
 * Sends releaseLostServerUpdate. 'not-held': the claim's attempt no longer holds the server (an
 * earlier copy of this release applied, or someone else took it since), or its status changed
 * since it was read; `current` is the record as it is (absent: there is none).
 */
export async function releaseLostServer(
  deps: RepoDeps,
  server: HeldServer & { status: GameServerItem['status'] },
): Promise<{ kind: 'released' } | { kind: 'not-held'; current?: GameServerItem }> {
  try {
    await deps.ddb.send(new UpdateCommand(releaseLostServerUpdate(deps.config.tables.gameServers, server)));
    return { kind: 'released' };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const refused = refusal(error);
    return { kind: 'not-held', ...(refused.current ? { current: refused.current } : {}) };
  }
}

/**
 * claimServer for a replace (lib/claims/replace.ts). A server that is an item of another replace's
 * transaction right now (its commit or undo) refuses the write with TransactionConflictException:
 * nothing was written, and the server is being committed to the claim or given back, so it is not
 * a candidate now ('refused', like a server someone else holds).
 */
export async function claimReplacementServer(deps: RepoDeps, update: ClaimServerUpdate): Promise<{ kind: 'claimed' } | { kind: 'refused'; current?: GameServerItem }> {
  try {
    return await claimServer(deps, update);
  } catch (error) {
    if ((error as Error | undefined)?.name === 'TransactionConflictException') return { kind: 'refused' };
    throw error;
  }
}
