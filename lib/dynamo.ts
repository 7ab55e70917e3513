import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeExpressions } from './dynamo/expressions';

export { allOf, anyOf, attributeNames, updateExpression, writeExpressions, type WriteExpressions } from './dynamo/expressions';
export { queryAll, queryPages } from './dynamo/query-pages';

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

export function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return error instanceof TransactionCanceledException || (error as Error | undefined)?.name === 'TransactionCanceledException';
}

/** Condition of a first write: no item has the key yet (`#key` names the table's key). */
const keyDoesNotExist = 'attribute_not_exists(#key)';
/** Condition of a later write: the item is still at the version it was read at. */
const versionIs = '#version = :expectedVersion';

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
  const condition =
    expectedVersion === undefined
      ? writeExpressions({ condition: keyDoesNotExist, names: { '#key': table.key } })
      : writeExpressions({ condition: versionIs, values: { ':expectedVersion': expectedVersion } });
  try {
    await ddb.send(new PutCommand({ TableName: table.name, Item: item, ...condition }));
    return 'written';
  } catch (error) {
    if (isConditionFailure(error)) return 'conflict';
    throw error;
  }
}

/** DynamoDB error names that mean "try again later", never "your request is wrong". */
const TRANSIENT_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);
/** Socket-level failures: the request may or may not have reached DynamoDB. */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** Cancellation reasons of a transaction that another attempt may not meet. */
const TRANSIENT_CANCELLATION_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded', 'InternalServerError']);

/**
 * Whether an error from the DynamoDB client is transient: throttling, a server-side 5xx, a timeout,
 * a lost or refused connection, a transaction that collided with another — everything the SDK
 * gives up on after its retries that a later retry may get through. These become 503 with
 * Retry-After at the HTTP boundary and a failed batch item in the poller. The outcome of a write
 * that failed this way is unknown: it may have been applied.
 */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; code?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown };
  if (isTransactionCanceled(error)) {
    const reasons = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
    return !reasons.includes('ConditionalCheckFailed') && reasons.some((code) => TRANSIENT_CANCELLATION_CODES.has(code));
  }
  if (e.name && TRANSIENT_ERROR_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_SOCKET_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  if (typeof e.message === 'string' && /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT/.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== error && isTransientError(e.cause);
}
