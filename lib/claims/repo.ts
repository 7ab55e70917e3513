import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, CancellationReason } from '@aws-sdk/client-dynamodb';
import { ClaimItemSchema, GameServerItemSchema, type ClaimItem, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { isConditionFailure, isTransactionCanceled } from '../dynamo';
import { confirmServerUpdate } from '../game-servers/repo';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/** The claim record (strongly consistent); a withdrawn record reads as absent. */
export async function getClaim(deps: RepoDeps, claimId: string): Promise<ClaimItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.claims, Key: { claimId }, ConsistentRead: true }),
  );
  if (!result.Item || result.Item.status === 'withdrawn') return undefined;
  return ClaimItemSchema.parse(result.Item);
}

/**
 * Writes a new claim record. Condition: the claim id is new — the idempotency key: of any number
 * of concurrent attempts with one id, exactly one record is written. 'exists' carries the record
 * that won.
 */
export async function putClaimRecord(deps: RepoDeps, claim: ClaimItem): Promise<{ kind: 'written' } | { kind: 'exists'; existing?: ClaimItem }> {
  try {
    await deps.ddb.send(
      new PutCommand({
        TableName: deps.config.tables.claims,
        Item: claim,
        // New, or withdrawn by an attempt that failed as a whole.
        ConditionExpression: 'attribute_not_exists(#claimId) OR #status = :withdrawn',
        ExpressionAttributeNames: { '#claimId': 'claimId', '#status': 'status' },
        ExpressionAttributeValues: { ':withdrawn': 'withdrawn' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'written' };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing = error.Item ? unmarshall(error.Item) : undefined;
    return { kind: 'exists', ...(existing && existing.status !== 'withdrawn' ? { existing: ClaimItemSchema.parse(existing) } : {}) };
  }
}

/**
 * Withdraws the claim record written by `attemptId` (an attempt that did not get all its servers
 * gives up its record, so that the claim id is free for the next attempt). A withdrawn record
 * reads as absent and may be overwritten; a record of another attempt is left alone.
 */
export async function withdrawClaimRecord(deps: RepoDeps, claimId: string, attemptId: string): Promise<'withdrawn' | 'not-ours'> {
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.claims,
        Key: { claimId },
        ConditionExpression: '#attemptId = :attempt AND #status = :leased',
        UpdateExpression: 'SET #status = :withdrawn',
        ExpressionAttributeNames: { '#attemptId': 'attemptId', '#status': 'status' },
        ExpressionAttributeValues: { ':attempt': attemptId, ':leased': 'leased', ':withdrawn': 'withdrawn' },
      }),
    );
    return 'withdrawn';
  } catch (error) {
    if (isConditionFailure(error)) return 'not-ours';
    throw error;
  }
}

const reasonItem = (reason: CancellationReason | undefined) =>
  reason?.Item ? unmarshall(reason.Item as Record<string, AttributeValue>) : undefined;

export type ConfirmWriteResult =
  | { kind: 'confirmed' }
  | { kind: 'claim-changed' }
  | { kind: 'servers-lost'; lost: Array<{ endpoint: string; current?: GameServerItem }> }
  | { kind: 'conflict' };

/** Leased claim -> confirmed, and each of its servers -> busy, all or nothing. */
export async function confirmClaimTransaction(deps: RepoDeps, claim: ClaimItem, now: number): Promise<ConfirmWriteResult> {
  const { tables } = deps.config;
  try {
    await deps.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tables.claims,
              Key: { claimId: claim.claimId },
              ConditionExpression: '#status = :leased AND #attemptId = :attempt',
              UpdateExpression: 'SET #status = :confirmed, #confirmedAt = :now',
              ExpressionAttributeNames: { '#status': 'status', '#confirmedAt': 'confirmedAt', '#attemptId': 'attemptId' },
              ExpressionAttributeValues: { ':leased': 'leased', ':confirmed': 'confirmed', ':now': now, ':attempt': claim.attemptId },
            },
          },
          ...claim.endpoints.map((endpoint) => ({
            Update: confirmServerUpdate(tables.gameServers, endpoint, claim.claimId, claim.attemptId, now),
          })),
        ],
      }),
    );
    return { kind: 'confirmed' };
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return { kind: 'claim-changed' };
    // Server i is transaction item i + 1 (item 0 is the claim record).
    const lost = claim.endpoints
      .map((endpoint, i) => ({ endpoint, reason: reasons[i + 1] }))
      .filter(({ reason }) => reason?.Code === 'ConditionalCheckFailed')
      .map(({ endpoint, reason }) => {
        const current = reasonItem(reason);
        return { endpoint, ...(current ? { current: GameServerItemSchema.parse(current) } : {}) };
      });
    return lost.length > 0 ? { kind: 'servers-lost', lost } : { kind: 'conflict' };
  }
}

/** Marks a claim released (idempotent: the first release time is kept). */
export async function markClaimReleased(deps: RepoDeps, claimId: string, now: number): Promise<ClaimItem> {
  const result = await deps.ddb.send(
    new UpdateCommand({
      TableName: deps.config.tables.claims,
      Key: { claimId },
      ConditionExpression: 'attribute_exists(#claimId) AND #status <> :withdrawn',
      UpdateExpression: 'SET #status = :released, #releasedAt = if_not_exists(#releasedAt, :now)',
      ExpressionAttributeNames: { '#claimId': 'claimId', '#status': 'status', '#releasedAt': 'releasedAt' },
      ExpressionAttributeValues: { ':released': 'released', ':now': now, ':withdrawn': 'withdrawn' },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return ClaimItemSchema.parse(result.Attributes);
}
