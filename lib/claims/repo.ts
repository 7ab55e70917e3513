import { TransactWriteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, CancellationReason } from '@aws-sdk/client-dynamodb';
import { ClaimItemSchema, GameServerItemSchema, type ClaimItem, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { isTransactionCanceled } from '../dynamo';
import { claimServerUpdate, confirmServerUpdate, type ClaimServerUpdate } from '../game-servers/repo';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

export async function getClaim(deps: RepoDeps, claimId: string): Promise<ClaimItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.claims, Key: { claimId }, ConsistentRead: true }),
  );
  return result.Item ? ClaimItemSchema.parse(result.Item) : undefined;
}

export type ClaimWriteResult =
  | { kind: 'written' }
  /** The claim id is taken (an earlier or concurrent call with the same id): here is its record. */
  | { kind: 'claim-exists'; existing: ClaimItem }
  /** One or more servers failed their condition; `current` is each one's record (absent: missing). */
  | { kind: 'servers-unavailable'; failed: Array<{ endpoint: string; current?: GameServerItem }> }
  /** Another transaction touched the same items at the same moment; nothing was written. */
  | { kind: 'conflict' };

const reasonItem = (reason: CancellationReason | undefined) =>
  reason?.Item ? unmarshall(reason.Item as Record<string, AttributeValue>) : undefined;

/**
 * The servers whose condition failed in a cancelled transaction, with their current records
 * (absent: the record does not exist). Server i is transaction item i + 1 (item 0 is the claim).
 */
function failedServers(endpoints: string[], reasons: CancellationReason[]): Array<{ endpoint: string; current?: GameServerItem }> {
  return endpoints
    .map((endpoint, i) => ({ endpoint, reason: reasons[i + 1] }))
    .filter(({ reason }) => reason?.Code === 'ConditionalCheckFailed')
    .map(({ endpoint, reason }) => {
      const current = reasonItem(reason);
      return { endpoint, ...(current ? { current: GameServerItemSchema.parse(current) } : {}) };
    });
}

/**
 * Claims servers and records the claim in one transaction: all of it is written, or none.
 * The claim record's condition (its id is new) makes the claim id the idempotency key: of any
 * number of concurrent calls with one id, exactly one transaction can succeed.
 */
export async function writeClaimTransaction(
  deps: RepoDeps,
  claim: ClaimItem,
  servers: Array<Omit<ClaimServerUpdate, 'claimId' | 'now'>>,
  now: number,
): Promise<ClaimWriteResult> {
  const { tables } = deps.config;
  try {
    await deps.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tables.claims,
              Item: claim,
              ConditionExpression: 'attribute_not_exists(#claimId)',
              ExpressionAttributeNames: { '#claimId': 'claimId' },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          ...servers.map((server) => ({
            Update: claimServerUpdate(tables.gameServers, { ...server, claimId: claim.claimId, now }),
          })),
        ],
      }),
    );
    return { kind: 'written' };
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons[0]?.Code === 'ConditionalCheckFailed') {
      const existing = reasonItem(reasons[0]);
      // An item returned by the failed condition is the claim that already exists.
      return { kind: 'claim-exists', existing: ClaimItemSchema.parse(existing ?? (await getClaim(deps, claim.claimId))) };
    }
    const failed = failedServers(servers.map((server) => server.endpoint), reasons);
    return failed.length > 0 ? { kind: 'servers-unavailable', failed } : { kind: 'conflict' };
  }
}

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
              ConditionExpression: '#status = :leased',
              UpdateExpression: 'SET #status = :confirmed, #confirmedAt = :now',
              ExpressionAttributeNames: { '#status': 'status', '#confirmedAt': 'confirmedAt' },
              ExpressionAttributeValues: { ':leased': 'leased', ':confirmed': 'confirmed', ':now': now },
            },
          },
          ...claim.endpoints.map((endpoint) => ({ Update: confirmServerUpdate(tables.gameServers, endpoint, claim.claimId, now) })),
        ],
      }),
    );
    return { kind: 'confirmed' };
  } catch (error) {
    if (!isTransactionCanceled(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return { kind: 'claim-changed' };
    const lost = failedServers(claim.endpoints, reasons);
    return lost.length > 0 ? { kind: 'servers-lost', lost } : { kind: 'conflict' };
  }
}

/** Marks a claim released (idempotent: the first release time is kept). */
export async function markClaimReleased(deps: RepoDeps, claimId: string, now: number): Promise<ClaimItem> {
  const result = await deps.ddb.send(
    new UpdateCommand({
      TableName: deps.config.tables.claims,
      Key: { claimId },
      ConditionExpression: 'attribute_exists(#claimId)',
      UpdateExpression: 'SET #status = :released, #releasedAt = if_not_exists(#releasedAt, :now)',
      ExpressionAttributeNames: { '#claimId': 'claimId', '#status': 'status', '#releasedAt': 'releasedAt' },
      ExpressionAttributeValues: { ':released': 'released', ':now': now },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return ClaimItemSchema.parse(result.Attributes);
}
