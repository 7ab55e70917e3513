import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

export function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return error instanceof TransactionCanceledException || (error as Error | undefined)?.name === 'TransactionCanceledException';
}

/**
 * Writes a whole item if nobody changed it since it was read (`version` still `expectedVersion`),
 * or, for a first write (`expectedVersion` undefined), if no item has its key yet. Returns
 * 'conflict' when someone else (another event, a claim) wrote it in between: the caller reads
 * again and decides again.
 */
export async function putIfVersion(
  ddb: DynamoDBDocumentClient,
  table: { name: string; key: string },
  item: Record<string, unknown>,
  expectedVersion: number | undefined,
): Promise<'written' | 'conflict'> {
  const condition: { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } =
    expectedVersion === undefined
      ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': table.key } }
      : {
          ConditionExpression: '#version = :expectedVersion',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expectedVersion': expectedVersion },
        };
  try {
    await ddb.send(new PutCommand({ TableName: table.name, Item: item, ...condition }));
    return 'written';
  } catch (error) {
    if (isConditionFailure(error)) return 'conflict';
    throw error;
  }
}
