// The status poller of a chaos run, in its own process so that the run can SIGKILL it mid-batch
// and start it again. It consumes the status queue with Lambda's batch semantics
// (scripts/local/sqs-event-source.ts) and the real handler (functions/status-poller.ts); its
// DynamoDB client goes through the fault proxy.
//
// Like Lambda, a batch has a timeout: a batch still running after CHAOS_BATCH_TIMEOUT_MS ends the
// process (exit 124) with its messages not deleted, and the parent starts a new one (a fresh
// function instance). Every message received and every batch finished is appended to
// CHAOS_RECEIPTS (JSON lines) before anything else happens, so the checker knows each message's
// SentTimestamp and when its effect had landed.
//
// Environment: CHAOS_STAGE, CHAOS_DYNAMODB_ENDPOINT, CHAOS_SQS_ENDPOINT, CHAOS_QUEUE_URL,
// CHAOS_QUEUE_ARN, CHAOS_RECEIPTS, CHAOS_VISIBILITY_SECONDS, CHAOS_BATCH_TIMEOUT_MS,
// CHAOS_CONCURRENCY, HEARTBEAT_TIMEOUT_SECONDS (and any other configuration variable).
import '../local/env-defaults';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSEvent } from 'aws-lambda';
import { makeHandler } from '../../functions/status-poller';
import { loadConfig } from '../../lib/config';
import { createDeps } from '../../lib/deps';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/services';
import { startSqsEventSource, type SqsHandler } from '../local/sqs-event-source';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`poller-process: ${name} is not set`);
  return value;
}

const receipts = required('CHAOS_RECEIPTS');
const batchTimeoutMs = Number(process.env.CHAOS_BATCH_TIMEOUT_MS ?? 10_000);
const log = (records: object[]) => appendFileSync(receipts, records.map((r) => `${JSON.stringify(r)}\n`).join(''));

const config = loadConfig({
  ...process.env,
  STAGE: required('CHAOS_STAGE'),
  DYNAMODB_ENDPOINT: required('CHAOS_DYNAMODB_ENDPOINT'),
  SQS_ENDPOINT: required('CHAOS_SQS_ENDPOINT'),
});
const logger = new Logger({ serviceName: 'gs-inventory-chaos-poller', logLevel: (process.env.CHAOS_LOG_LEVEL ?? 'SILENT') as 'SILENT' });
// Metrics warn through the logger ("no metrics to publish"): silent with it.
const deps = createDeps({ config, logger, metrics: new Metrics({ namespace: 'GameServerInventoryChaos', serviceName: 'status-poller', logger }) });
const handler = makeHandler(deps);

const recordingHandler: SqsHandler = async (event: SQSEvent, context) => {
  const batch = randomUUID().slice(0, 8);
  const at = Date.now();
  log(
    event.Records.map((record) => ({
      t: 'r',
      id: record.messageId,
      ts: Number(record.attributes.SentTimestamp),
      n: Number(record.attributes.ApproximateReceiveCount),
      at,
      b: batch,
      pid: process.pid,
    })),
  );
  process.send?.({ type: 'batch', size: event.Records.length });
  const timer = setTimeout(() => {
    log([{ t: 'x', at: Date.now(), pid: process.pid, b: batch, why: 'batch-timeout' }]);
    process.exit(124);
  }, batchTimeoutMs);
  try {
    const result = await handler(event, context);
    log([{ t: 'd', b: batch, at: Date.now(), failed: (result?.batchItemFailures ?? []).map((f) => f.itemIdentifier) }]);
    return result;
  } catch (error) {
    log([{ t: 'd', b: batch, at: Date.now(), failed: event.Records.map((r) => r.messageId) }]);
    throw error;
  } finally {
    clearTimeout(timer);
  }
};

const sqs = new SQSClient({ endpoint: required('CHAOS_SQS_ENDPOINT'), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
const source = startSqsEventSource({
  sqs,
  queueUrl: required('CHAOS_QUEUE_URL'),
  queueArn: required('CHAOS_QUEUE_ARN'),
  handler: recordingHandler,
  batchSize: 10,
  waitTimeSeconds: 1,
  concurrency: Number(process.env.CHAOS_CONCURRENCY ?? 2),
  visibilityTimeoutSeconds: Number(process.env.CHAOS_VISIBILITY_SECONDS ?? 30),
});
process.send?.({ type: 'ready', pid: process.pid });

process.once('SIGTERM', () => {
  void source.stop().finally(() => {
    sqs.destroy();
    deps.ddb.destroy();
    process.exit(0);
  });
});
// The parent went away (its IPC channel closed): don't outlive it.
process.on('disconnect', () => process.exit(0));
