import { existsSync, readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sleep } from '../../lib/backoff';
import type { ClaimRecord, Delivery, DrainOutcome, ServerRecord, Snapshot } from './types';

async function scanAll(ddb: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

export function toServerRecord(item: Record<string, unknown>): ServerRecord {
  return {
    endpoint: String(item.endpoint),
    status: String(item.status),
    phase: String(item.phase),
    podUid: String(item.podUid),
    seq: Number(item.seq),
    sentAt: Number(item.sentAt),
    node: String(item.node),
    availableAt: Number(item.availableAt),
    freshUntil: Number(item.freshUntil),
    ...optional('source', str(item.source)),
    ...optional('claimId', str(item.claimId)),
    ...optional('claimAttempt', str(item.claimAttempt)),
    ...optional('claimedAt', num(item.claimedAt)),
    ...optional('leaseExpiresAt', num(item.leaseExpiresAt)),
    ...optional('holdExpiresAt', num(item.holdExpiresAt)),
  };
}

export function toClaimRecord(item: Record<string, unknown>): ClaimRecord {
  return {
    claimId: String(item.claimId),
    status: String(item.status),
    endpoints: Array.isArray(item.endpoints) ? item.endpoints.map(String) : [],
    ...optional('attemptId', str(item.attemptId)),
    ...optional('createdAt', num(item.createdAt)),
    ...optional('leaseExpiresAt', num(item.leaseExpiresAt)),
    ...optional('holdExpiresAt', num(item.holdExpiresAt)),
    ...optional('confirmedAt', num(item.confirmedAt)),
    ...optional('releasedAt', num(item.releasedAt)),
  };
}

/** Reads the final tables (consistent scans, straight from DynamoDB Local) and empties the dead-letter queue. */
export async function readSnapshot(ddb: DynamoDBDocumentClient, sqs: SQSClient, where: { gameServerTable: string; claimTable: string; deadLetterQueueUrl: string }): Promise<Snapshot> {
  const now = Date.now();
  const [servers, claims] = await Promise.all([scanAll(ddb, where.gameServerTable), scanAll(ddb, where.claimTable)]);
  const deadLetters: Snapshot['deadLetters'] = [];
  for (let empty = 0; empty < 2; ) {
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: where.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 0 }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const message of messages) deadLetters.push({ ...optional('messageId', message.MessageId), body: message.Body ?? '' });
  }
  return { now, servers: servers.map(toServerRecord), claims: claims.map(toClaimRecord), deadLetters };
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = result.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/** Waits until the status queue is empty (nothing visible, in flight or delayed) twice in a row. */
export async function waitDrained(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<DrainOutcome> {
  const started = Date.now();
  let zeros = 0;
  let remaining = Infinity;
  while (Date.now() - started < timeoutMs) {
    remaining = await queueDepth(sqs, queueUrl);
    zeros = remaining === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return { drained: true, remaining: 0, waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
    await sleep(400);
  }
  return { drained: false, remaining, waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
}

interface ReceiptLine {
  t: 'r' | 'd' | 'x';
  id?: string;
  ts?: number;
  at: number;
  b?: string;
  pid?: number;
  failed?: string[];
}

/**
 * Turns the poller's receipt log into per-message deliveries. A batch that finished bounds the
 * effect of its messages by its end; one whose process died (SIGKILL, batch timeout) by the
 * death. Either bound is pushed out by the longest injected delay: the proxy still forwards a
 * delayed write after its sender gave up or died.
 */
export function readDeliveries(file: string, exits: Array<{ pid: number; at: number }>, options: { now: number; maxDelayMs: number }): Record<string, Delivery> {
  if (!existsSync(file)) return {};
  const lines: ReceiptLine[] = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as ReceiptLine];
      } catch {
        return []; // a line cut by a SIGKILL
      }
    });
  const batchEnd = new Map<string, number>();
  for (const line of lines) if (line.t === 'd' && line.b) batchEnd.set(line.b, line.at);
  const exitAt = new Map<number, number>();
  for (const exit of exits) exitAt.set(exit.pid, exit.at);
  const deliveries: Record<string, Delivery> = {};
  for (const line of lines) {
    if (line.t !== 'r' || !line.id) continue;
    const end = (line.b ? batchEnd.get(line.b) : undefined) ?? (line.pid !== undefined ? exitAt.get(line.pid) : undefined) ?? options.now;
    const effectUntil = end + options.maxDelayMs;
    const previous = deliveries[line.id];
    const changed = previous !== undefined && line.ts !== undefined && line.ts !== previous.sentTimestamp;
    deliveries[line.id] = {
      sentTimestamp: previous?.sentTimestamp ?? line.ts ?? 0,
      ...(changed || previous?.sentTimestampChanged ? { sentTimestampChanged: true } : {}),
      firstReceivedAt: Math.min(previous?.firstReceivedAt ?? Infinity, line.at),
      effectUntil: Math.max(previous?.effectUntil ?? -Infinity, effectUntil),
      receives: (previous?.receives ?? 0) + 1,
    };
  }
  return deliveries;
}
