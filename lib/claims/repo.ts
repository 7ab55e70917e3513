import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, CancellationReason } from '@aws-sdk/client-dynamodb';
import { ClaimItemSchema, type ClaimItem, type ClaimStatus, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { allOf, isConditionFailure, isTransactionCanceled, updateExpression, writeExpressions } from '../dynamo';
import type { ServerTransition } from '../game-servers/claim-writes';
import { parseGameServerItem } from '../game-servers/records';
import { ownerClause, type Actor } from '../ownership';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/** The claim record (strongly consistent). */
export async function getClaim(deps: RepoDeps, claimId: string): Promise<ClaimItem | undefined> {
  const result = await deps.ddb.send(new GetCommand({ TableName: deps.config.tables.claims, Key: { claimId }, ConsistentRead: true }));
  return result.Item ? ClaimItemSchema.parse(result.Item) : undefined;
}

/** Condition of the commit: the claim id has no record yet (the idempotency key). */
const claimIdIsNew = 'attribute_not_exists(#claimId)';
/** The record was committed by the transition's attempt. */
const committedByAttempt = '#attemptId = :attempt';

/**
 * Writes a new claim record: the claim's commit point (its servers already carry its attempt).
 * Of any number of attempts with one claim id, exactly one record is ever written, and it is
 * never withdrawn. A refusal whose existing record is this very attempt's (the SDK retried after
 * the answer was lost) is success. 'exists' carries the record that won.
 */
export async function putClaimRecord(deps: RepoDeps, claim: ClaimItem): Promise<{ kind: 'written' } | { kind: 'exists'; existing: ClaimItem }> {
  try {
    await deps.ddb.send(
      new PutCommand({
        TableName: deps.config.tables.claims,
        Item: claim,
        ...writeExpressions({ condition: claimIdIsNew }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'written' };
  } catch (error) {
    if (!isConditionFailure(error) || !error.Item) throw error;
    const existing = ClaimItemSchema.parse(unmarshall(error.Item));
    return existing.attemptId === claim.attemptId ? { kind: 'written' } : { kind: 'exists', existing };
  }
}

/** How a claim's record changes in a transition, applied only from `from` and only for its attempt. */
export interface RecordChange {
  from: readonly ClaimStatus[];
  set: Partial<Pick<ClaimItem, 'status' | 'confirmedAt' | 'renewedAt' | 'releasedAt' | 'releasedEndpoints' | 'leaseExpiresAt' | 'holdExpiresAt' | 'expiresAt'>>;
}

export type TransitionResult =
  | { kind: 'applied' }
  /** The record is no longer in a `from` status (a concurrent confirm, renew or release won), or not the actor's. */
  | { kind: 'record-changed' }
  /** These servers no longer match their transition's condition; `current` is what they are now. */
  | { kind: 'servers-changed'; changed: Array<{ endpoint: string; current?: GameServerItem }> };

const reasonItem = (reason: CancellationReason | undefined) =>
  reason?.Item ? unmarshall(reason.Item as Record<string, AttributeValue>) : undefined;

/**
 * Moves a claim record and its servers together in one TransactWriteItems: all or nothing,
 * whatever fails or dies in between. The record's clause `attempt` pins the transition to the
 * attempt that committed the claim; each server's clause pins it to that attempt too; the
 * record's `owner` clause lets only the claim's owner (or an admin) through (lib/ownership.ts).
 * `ClientRequestToken` makes the SDK's own retries of the call idempotent on DynamoDB; a retry
 * that still finds the work done is answered by the record's new status (the caller re-reads).
 * Throws what the client throws; a transaction cancelled by throttling or a conflicting
 * transaction is a transient error (isTransientError).
 */
export async function runClaimTransition(
  deps: RepoDeps,
  claim: ClaimItem,
  actor: Actor,
  change: RecordChange,
  servers: ServerTransition[],
): Promise<TransitionResult> {
  const owner = ownerClause(actor);
  const values: Record<string, unknown> = { ':attempt': claim.attemptId, ...owner.values };
  change.from.forEach((status, i) => (values[`:from${i}`] = status));
  const sets: string[] = [];
  for (const [field, value] of Object.entries(change.set)) {
    sets.push(`#${field} = :${field}`);
    values[`:${field}`] = value;
  }
  const condition = allOf({
    attempt: committedByAttempt,
    from: `#status IN (${change.from.map((_, i) => `:from${i}`).join(', ')})`,
    ...(owner.clause ? { owner: owner.clause } : {}),
  });
  try {
    await deps.ddb.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            Update: {
              TableName: deps.config.tables.claims,
              Key: { claimId: claim.claimId },
              ...writeExpressions({ condition, update: updateExpression({ set: sets }), values }),
            },
          },
          ...servers.map((Update) => ({ Update })),
        ],
      }),
    );
    return { kind: 'applied' };
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return { kind: 'record-changed' };
    // Server i is transaction item i + 1 (item 0 is the claim record).
    const changed = servers
      .map((server, i) => ({ endpoint: server.Key.endpoint, reason: reasons[i + 1] }))
      .filter(({ reason }) => reason?.Code === 'ConditionalCheckFailed')
      .map(({ endpoint, reason }) => {
        const current = reasonItem(reason);
        return { endpoint, ...(current ? { current: parseGameServerItem(current) } : {}) };
      });
    if (changed.length > 0) return { kind: 'servers-changed', changed };
    throw error; // throttled or in conflict with another transaction: transient
  }
}

/** The swap of a replace, as the record was read: `lost` at `index` of its endpoints gives way to `replacement`. */
export interface ReplacementCommit {
  claim: ClaimItem;
  lost: string;
  replacement: string;
  /** Where `lost` stood in the record's endpoints when it was read. */
  index: number;
  /** The replacement joins the claim: its transition into the claim's own state (claim-writes.ts). */
  server: ServerTransition;
}

export type ReplacementCommitResult =
  | { kind: 'committed' }
  /** The record moved since it was read (or is not the actor's): `current` is what it is now. */
  | { kind: 'record-changed'; current?: ClaimItem }
  /** The replacement no longer matches its transition (no longer held by the attempt, not fresh). */
  | { kind: 'replacement-changed'; current?: GameServerItem }
  /** Cancelled, nothing written: a concurrent transaction on the same items (another replace's commit). */
  | { kind: 'conflict' };

/** A transaction cancelled only because another one was changing the same items: nothing was written. */
const cancelledByConflict = (reasons: CancellationReason[]) =>
  reasons.some((reason) => reason.Code === 'TransactionConflict') && !reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');

/** The claim still stands as read: committed by its attempt, in the status and with the deadline that was read. */
const sameStatus = '#status = :status';
const sameDeadline = (field: 'leaseExpiresAt' | 'holdExpiresAt') => `#${field} = :deadline`;
/** The lost server is still where it was read in the claim's endpoints. */
const lostAt = (index: number) => `#endpoints[${index}] = :lost`;
/** The replacement is not one of the claim's servers already (a concurrent replace of another server may have taken it). */
const replacementIsNew = 'NOT contains(#endpoints, :replacement)';
const noReplacementsYet = 'attribute_not_exists(#replaced)';
const replacementsRecorded = 'attribute_exists(#replaced)';

/**
 * The commit point of a replace: one TransactWriteItems of
 * - the claim record: `endpoints[index]` becomes the replacement and `replaced[lost]` records it,
 *   on condition that the record is still the one read — committed by its attempt (`attempt`), in
 *   the status and with the deadline read (`status`, `deadline`), the actor's (`owner`), `lost` still
 *   at `index` (`lostAt`), the replacement not in it already (`replacementIsNew`); and
 * - the replacement server: from the lease the replace took on it into the claim's own state
 *   (busy until the hold for a confirmed claim, claimed until the lease for a leased one), on
 *   condition that the claim's attempt holds it, claimed and fresh (`server`).
 * Both or neither: the record never lists a server the claim does not hold. `ClientRequestToken`
 * makes the SDK's retries idempotent; a refusal whose record already shows this very swap
 * (`replaced[lost] = replacement`, `lost` gone: a retry, or a concurrent replace that took the same
 * server) is success.
 */
export async function commitReplacement(deps: RepoDeps, actor: Actor, commit: ReplacementCommit): Promise<ReplacementCommitResult> {
  const { claim, lost, replacement, index } = commit;
  const confirmed = claim.status === 'confirmed';
  const deadline = confirmed ? claim.holdExpiresAt : claim.leaseExpiresAt;
  const owner = ownerClause(actor);
  const recorded = claim.replaced !== undefined;
  const condition = allOf({
    attempt: committedByAttempt,
    status: sameStatus,
    deadline: sameDeadline(confirmed ? 'holdExpiresAt' : 'leaseExpiresAt'),
    ...(owner.clause ? { owner: owner.clause } : {}),
    lostAt: lostAt(index),
    replacementIsNew,
    replaced: recorded ? replacementsRecorded : noReplacementsYet,
  });
  // The lost endpoint is a map key (data, not an identifier): a placeholder of its own.
  const update = updateExpression({ set: [`#endpoints[${index}] = :replacement`, recorded ? '#replaced.#lostKey = :replacement' : '#replaced = :replaced'] });
  const values: Record<string, unknown> = {
    ':attempt': claim.attemptId,
    ':status': claim.status,
    ':deadline': deadline,
    ':lost': lost,
    ':replacement': replacement,
    ...(recorded ? {} : { ':replaced': { [lost]: replacement } }),
    ...owner.values,
  };
  const names: Record<string, string> = recorded ? { '#lostKey': lost } : {};
  try {
    await deps.ddb.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            Update: {
              TableName: deps.config.tables.claims,
              Key: { claimId: claim.claimId },
              ...writeExpressions({ condition, update, values, names }),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          { Update: commit.server },
        ],
      }),
    );
    return { kind: 'committed' };
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    if (cancelledByConflict(error.CancellationReasons ?? [])) return { kind: 'conflict' };
    const [record, server] = error.CancellationReasons ?? [];
    if (record?.Code === 'ConditionalCheckFailed') {
      const item = reasonItem(record);
      const current = item ? ClaimItemSchema.parse(item) : undefined;
      if (current && current.replaced?.[lost] === replacement && !current.endpoints.includes(lost)) return { kind: 'committed' };
      return { kind: 'record-changed', ...(current ? { current } : {}) };
    }
    if (server?.Code === 'ConditionalCheckFailed') {
      const item = reasonItem(server);
      return { kind: 'replacement-changed', ...(item ? { current: parseGameServerItem(item) } : {}) };
    }
    throw error; // throttled or in conflict with another transaction: transient
  }
}

/** The record does not list the server among the claim's endpoints. */
const notListed = 'NOT contains(#endpoints, :endpoint)';

/**
 * Gives back a server a replace claimed for the claim (under its attempt) but did not commit: in
 * one transaction, the server's release (claim-writes.ts releaseServerTransition: still held by the
 * attempt) on condition that the claim record does not list it (`notListed`) — so an undo never
 * takes a server from the claim, whichever replace committed it, and whenever this undo arrives.
 * 'kept': the record lists the server, or the attempt no longer holds it; 'conflict': cancelled
 * by a concurrent transaction on the same items, nothing written (the caller may try again).
 */
export async function undoReplacement(deps: RepoDeps, claim: ClaimItem, release: ServerTransition): Promise<'released' | 'kept' | 'conflict'> {
  try {
    await deps.ddb.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            ConditionCheck: {
              TableName: deps.config.tables.claims,
              Key: { claimId: claim.claimId },
              ...writeExpressions({ condition: notListed, values: { ':endpoint': release.Key.endpoint } }),
            },
          },
          { Update: release },
        ],
      }),
    );
    return 'released';
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return 'kept';
    if (cancelledByConflict(reasons)) return 'conflict';
    throw error;
  }
}
