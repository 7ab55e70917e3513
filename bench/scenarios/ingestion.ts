import { performance } from 'node:perf_hooks';
import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { makeHandler as makeStatusPoller } from '../../functions/status-poller';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { startSqsEventSource } from '../../scripts/local/sqs-event-source';
import { lambdaContext } from '../../scripts/local/lambda-context';
import { v1Message } from '../../testkit/v1-message';
import { sqsEvent, sqsRecord } from '../../testkit/sqs';
import { countsSince } from '../lib/ddb';
import { describeRun, roundTrips, type BenchContext, type RunRow } from '../lib/context';
import { createStage, type BenchStage } from '../lib/env';
import { runClosedLoop } from '../lib/load';
import { BENCH_REGION, nextEndpoint } from '../lib/pool';
import { round, summarize } from '../lib/stats';

const BATCH_SIZE = 10;
const BATCHES_IN_FLIGHT = 4;

/**
 * Status events for `events / 2` new servers: each server's `ready` (seq 1), then each server's
 * `heartbeat` (seq 2), as v1 wire messages. Every event is a read plus a conditional put.
 */
function statusMessages(events: number, group: string): { bodies: string[]; endpoints: string[] } {
  const endpoints = Array.from({ length: Math.ceil(events / 2) }, () => nextEndpoint());
  const bodies: string[] = [];
  for (const [seq, event] of [[1, 'ready'], [2, 'heartbeat']] as const) {
    for (const [i, endpoint] of endpoints.entries()) {
      if (bodies.length >= events) break;
      bodies.push(
        JSON.stringify(
          v1Message({ endpoint, podUid: `pod-${endpoint}`, node: `node-${group}-${i % 500}`, group, region: BENCH_REGION, seq, event, sentAt: new Date().toISOString() }),
        ),
      );
    }
  }
  return { bodies, endpoints };
}

/** Records that reached the table at their newest event (seq 2 when the heartbeat was sent). */
async function countApplied(admin: DynamoDBDocumentClient, table: string, endpoints: string[], expectedSeq: (i: number) => number): Promise<number> {
  const seqOf = new Map<string, number>();
  for (let i = 0; i < endpoints.length; i += 100) {
    let keys: Array<Record<string, unknown>> | undefined = endpoints.slice(i, i + 100).map((endpoint) => ({ endpoint }));
    while (keys && keys.length > 0) {
      const result: BatchGetCommandOutput = await admin.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'endpoint, seq' } } }),
      );
      for (const item of result.Responses?.[table] ?? []) seqOf.set(item.endpoint as string, item.seq as number);
      keys = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return endpoints.filter((endpoint, i) => seqOf.get(endpoint) === expectedSeq(i)).length;
}

/**
 * Poller throughput: the status-poller handler alone (batches of 10 handed to it directly, 4 in
 * flight), and end to end through the local SQS queue with the local event source (Lambda's
 * batch semantics, 4 concurrent pollers), the producer sending while the poller drains.
 */
export async function runIngestion(ctx: BenchContext): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-ingest');
  const sqs = new SQSClient({ endpoint: ctx.env.services.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    return [await handlerAlone(ctx, stage), await throughSqs(ctx, stage, sqs)];
  } finally {
    sqs.destroy();
    await stage.destroy();
  }
}

async function handlerAlone(ctx: BenchContext, stage: BenchStage): Promise<RunRow> {
  const { bodies, endpoints } = statusMessages(ctx.profile.ingestionEvents, 'ingest-handler');
  const batches: SQSEvent[] = [];
  for (let i = 0; i < bodies.length; i += BATCH_SIZE) batches.push(sqsEvent(bodies.slice(i, i + BATCH_SIZE).map((body) => sqsRecord(body))));
  const poller = makeStatusPoller(stage.deps);
  let failed = 0;
  const before = stage.counter.snapshot();
  const cpu = ctx.env.cpu.start();
  const result = await runClosedLoop({
    concurrency: BATCHES_IN_FLIGHT,
    durationMs: 600_000,
    maxOps: batches.length,
    op: async (_w, seq) => {
      const response = await poller(batches[seq]!, lambdaContext('status-poller', `bench-${seq}`));
      failed += response.batchItemFailures.length;
      return 'ok';
    },
  });
  const cpuShare = cpu();
  const counted = countsSince(before, stage.counter.snapshot());
  const applied = await countApplied(ctx.env.admin, stage.config.tables.gameServers, endpoints, () => 2);
  const perSec = round(bodies.length / (result.elapsedMs / 1000), 1);
  const row: RunRow = {
    label: 'status-poller',
    via: 'handler alone',
    concurrency: BATCHES_IN_FLIGHT,
    ok: bodies.length - failed,
    misses: 0,
    errors: result.errors + (applied === endpoints.length ? 0 : 1),
    ...(result.firstError ? { firstError: result.firstError } : applied !== endpoints.length ? { firstError: `${endpoints.length - applied} servers not at their newest event` } : {}),
    elapsedMs: result.elapsedMs,
    perSec,
    latency: result.latency,
    ...roundTrips(counted, bodies.length - failed),
    ingestion: { events: bodies.length, batchSize: BATCH_SIZE, batchesInFlight: BATCHES_IN_FLIGHT, applied, servers: endpoints.length, failed },
    cpu: cpuShare,
  };
  ctx.log(`${describeRun(row)}  [events/s; latency per batch of ${BATCH_SIZE}]`);
  return row;
}

async function throughSqs(ctx: BenchContext, stage: BenchStage, sqs: SQSClient): Promise<RunRow> {
  const { bodies, endpoints } = statusMessages(ctx.profile.ingestionEvents, 'ingest-sqs');
  const { deps, counter } = stage.newDeps();
  const poller = makeStatusPoller(deps);
  const batchLatencies: number[] = [];
  const queueToApplied: number[] = [];
  let processed = 0;
  let failed = 0;
  let done: () => void = () => undefined;
  const allProcessed = new Promise<void>((resolve) => (done = resolve));

  const before = counter.snapshot();
  const cpu = ctx.env.cpu.start();
  const source = startSqsEventSource({
    sqs,
    queueUrl: stage.stack.statusQueueUrl,
    queueArn: stage.stack.statusQueueArn,
    batchSize: BATCH_SIZE,
    concurrency: BATCHES_IN_FLIGHT,
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 10,
    handler: async (event: SQSEvent, context: Context) => {
      const t0 = performance.now();
      const response = await poller(event, context);
      const now = Date.now();
      batchLatencies.push(performance.now() - t0);
      const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      for (const record of event.Records) {
        if (!failedIds.has(record.messageId)) queueToApplied.push(now - Number(record.attributes.SentTimestamp));
      }
      failed += failedIds.size;
      processed += event.Records.length - failedIds.size;
      if (processed >= bodies.length) done();
      return response;
    },
  });
  const started = performance.now();
  let sent = 0;
  const sendOne = async () => {
    while (sent < bodies.length) {
      const from = sent;
      sent += BATCH_SIZE;
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stage.stack.statusQueueUrl,
          Entries: bodies.slice(from, from + BATCH_SIZE).map((body, i) => ({ Id: String(i), MessageBody: body })),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, sendOne));
  const sendMs = performance.now() - started;
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 300_000).unref());
  const outcome = await Promise.race([allProcessed.then(() => 'done' as const), timeout]);
  const elapsedMs = performance.now() - started;
  const cpuShare = cpu();
  await source.stop();
  const counted = countsSince(before, counter.snapshot());
  const applied = await countApplied(ctx.env.admin, stage.config.tables.gameServers, endpoints, () => 2);
  const dlq = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stage.stack.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  const deadLettered = Number(dlq.Attributes?.ApproximateNumberOfMessages ?? 0);
  const problems = [
    ...(outcome === 'timeout' ? [`only ${processed} of ${bodies.length} events processed in 300 s`] : []),
    ...(applied !== endpoints.length ? [`${endpoints.length - applied} servers not at their newest event`] : []),
  ];
  const e2e = summarize(queueToApplied);
  const row: RunRow = {
    label: 'status-poller',
    via: 'local SQS + event source',
    concurrency: BATCHES_IN_FLIGHT,
    ok: processed,
    misses: 0,
    errors: problems.length,
    ...(problems.length ? { firstError: problems.join('; ') } : {}),
    elapsedMs: round(elapsedMs),
    perSec: round(processed / (elapsedMs / 1000), 1),
    latency: summarize(batchLatencies),
    ...roundTrips(counted, processed),
    ingestion: {
      events: bodies.length,
      batchSize: BATCH_SIZE,
      batchesInFlight: BATCHES_IN_FLIGHT,
      applied,
      servers: endpoints.length,
      failed,
      queueToAppliedMs: { p50: e2e.p50, p99: e2e.p99 },
      endToEndPerSec: round(processed / (elapsedMs / 1000), 1),
      sendPerSec: round(bodies.length / (sendMs / 1000), 1),
      deadLettered,
    },
    cpu: cpuShare,
  };
  ctx.log(`${describeRun(row)}  [events/s from first send to last applied; queue->applied p50 ${e2e.p50} ms p99 ${e2e.p99} ms]`);
  return row;
}
