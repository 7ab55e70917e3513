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
