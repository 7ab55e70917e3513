import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type GetRecordsCommandOutput,
  type AttributeValue as StreamAttributeValue,
  type DynamoDBStreamsClient,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { AttributeValue, Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { backoffDelay } from '../../lib/backoff';
import { lambdaContext } from './lambda-context';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

/** What the on-failure destination receives: records given up on, in stream order. */
export interface DiscardedRecords {
  shardId: string;
  records: DynamoDBRecord[];
  /** The last error of the function (a thrown error, or the batch item failure it reported). */
  error?: unknown;
  /** Failed invocations that held these records. */
  attempts: number;
}

export interface BatchReport {
  /** Records handed to the handler in this invocation (0 for a stream read that failed). */
  size: number;
  /** Records of the invocation not done: to be retried, or discarded. */
  failed: number;
  error?: unknown;
  /** Records given to onFailure (or dropped, without one) after this invocation. */
  discarded?: number;
}

export interface StreamEventSourceOptions {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  handler: StreamHandler;
  /** Names the function in the Lambda context (default 'stream-handler'). */
  functionName?: string;
  /** The most records per invocation (Lambda's default 100); one GetRecords call reads at most 1000. */
  batchSize?: number;
  /** Where shards that exist at start are read from (default TRIM_HORIZON). */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Wait after a GetRecords call that returned nothing (default 250 ms). */
  pollIntervalMs?: number;
  /** How often the stream is described to find new shards (default 5 s; sooner when a shard ends). */
  describeIntervalMs?: number;
  /** Failed invocations a record may have beyond its first before it is discarded (default 10; -1 = never, as on Lambda). */
  maximumRetryAttempts?: number;
  /** Split a batch in two when the handler throws (default true). */
  bisectBatchOnFunctionError?: boolean;
  /** The on-failure destination. Retried (with backoff, each failure reported to onBatch) until it succeeds. */
  onFailure?: (info: DiscardedRecords) => Promise<void> | void;
  /** Called after every invocation, every failed stream call and every failed onFailure call. */
  onBatch?: (info: BatchReport) => void;
  /** The wait before retry `attempt` (1 = first): of an invocation, a stream call or onFailure. Default 100 ms doubling to 2 s. */
  retryDelayMs?: (attempt: number) => number;
  /** `awsRegion` of the records; default the region the stream reports (on AWS, Lambda passes that through). */
  awsRegion?: string;
}

export interface StreamEventSource {
  /** Stops reading, waits for the invocation in flight (no retry after it), and clears every timer. Pending drains reject. */
  stop(): Promise<void>;
  /**
   * Resolves once every record written to the stream before the call (and after the starting
   * position) has been handed to the handler successfully or to onFailure: every shard known to a
   * stream description made after the call is exhausted or has answered an empty GetRecords issued
   * after the call. Rejects if the source is stopped first.
   */
  drain(): Promise<void>;
}

const GET_RECORDS_LIMIT = 1000;

/**
 * A local stand-in for Lambda's DynamoDB Streams event source mapping (with
 * `FunctionResponseTypes: [ReportBatchItemFailures]`, `ParallelizationFactor` 1 and no batching
 * window), reading DynamoDB Local's stream through the DynamoDB Streams API. Lambda's documented
 * behaviour it reproduces (Lambda developer guide: "Using AWS Lambda with Amazon DynamoDB",
 * "Configuring partial batch response with DynamoDB and Lambda", "Lambda parameters for Amazon
 * DynamoDB event source mappings"):
 *
 * - Per shard, records are delivered in order, one batch in flight at a time; shards are read in
 *   parallel. A child shard (ParentShardId) is read only once its parent is exhausted (GetRecords
 *   returned no NextShardIterator), so a key's changes stay in order across a shard split. The
 *   stream is described again periodically, and at once when a shard ends, to find new shards.
 * - With LATEST, shards already closed at start are skipped and open ones read from their tip;
 *   shards that appear later are read from their start (all their records are newer).
 * - Records have Lambda's shape: eventVersion '1.1', eventSource 'aws:dynamodb', eventSourceARN =
 *   the stream, ApproximateCreationDateTime in epoch seconds, images left in DynamoDB JSON with
 *   binary values as base64 strings.
 * - Partial batch response: the batch is done when batchItemFailures is absent or empty. Otherwise
 *   the records before the failure with the lowest sequence number are done and the batch is
 *   retried from that record on. An itemIdentifier that is empty, not a string or not a sequence
 *   number of the batch fails the whole batch.
 * - A handler that throws fails the whole batch; with BisectBatchOnFunctionError it is split in two
 *   and the halves retried in order (the second only after the first is done), down to single
 *   records. A partial batch response is never bisected: its remaining records are retried as they
 *   are.
 * - MaximumRetryAttempts, counted per record: every failed invocation counts for each record it
 *   held, splits included. Records whose count exceeds the limit go to the on-failure destination
 *   and the shard moves on, except that a batch that can still be bisected is split instead, so
 *   only a record that fails on its own is discarded, never its neighbours. A record that fails
 *   alone is therefore handed to the handler max(maximumRetryAttempts + 1, splits + 1) times.
 *   (Lambda documents the limit but not how bisection counts against it; this is the local rule.)
 *   Without bisection (or for a partial response) the whole retried batch is discarded, as Lambda
 *   discards a batch.
 * - Errors reading the stream are not function errors: retried with backoff, never counted against
 *   the records. An expired (or otherwise invalid) iterator is reopened AFTER_SEQUENCE_NUMBER the
 *   last record handed over, or at the shard's starting position if none was.
 *
 * Defaults follow the notifier's mapping (infra/functions.cjs: bisect on, 10 retries, batch 100),
 * not Lambda's (bisect off, retries -1). onFailure is given the records themselves; Lambda's
 * destination gets only their position (shard, first and last sequence number).
 *
 * Left out: MaximumRecordAgeInSeconds, batching windows, tumbling windows, filter criteria,
 * ParallelizationFactor > 1, batches over 1000 records (one GetRecords call), and checkpoints that
 * outlive the process (a new source starts again at its starting position).
 *
 * Why our own: Powertools' BatchProcessor runs inside the function, not around it, and
 * serverless-offline-dynamodb-streams documents only batchSize and startingPosition: no partial
 * batch responses, bisection, retry limit or on-failure destination, which the notifier's
 * ordering and its failure queue rest on.
 */
export function startStreamEventSource(options: StreamEventSourceOptions): StreamEventSource {
  const { streams, streamArn, handler } = options;
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new RangeError(`batchSize must be 1..10000, got ${batchSize}`);
  const maxRetries = options.maximumRetryAttempts ?? 10;
  const retryLimit = maxRetries < 0 ? Number.POSITIVE_INFINITY : maxRetries;
  const bisect = options.bisectBatchOnFunctionError ?? true;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const describeIntervalMs = options.describeIntervalMs ?? 5000;
  const startingPosition = options.startingPosition ?? 'TRIM_HORIZON';
  const retryDelayMs = options.retryDelayMs ?? ((attempt: number) => backoffDelay(attempt, { baseMs: 100, maxMs: 2000, jitter: 'none' }));
  const functionName = options.functionName ?? 'stream-handler';

  let running = true;
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per request in flight, one per shard
  const timers = createTimers();
  const shards = new Map<string, ShardState>();
  const workers = new Set<Promise<void>>();
  /** Drains compare the requests' start against this: see drain(). */
  let epoch = 0;
  let describedEpoch = -1;
  let described = false;
  const drains = new Set<{ epoch: number; resolve: () => void; reject: (error: Error) => void }>();

  const report = (info: BatchReport) => {
    try {
      options.onBatch?.(info);
    } catch {
      // a reporting callback must not stop the stream
    }
  };
  /** Aborts the stream calls in flight on stop(). */
  const http = { abortSignal: abort.signal };
  /** Set when the stream should be described without waiting out the interval (a drain, a shard that ended). */
  let describeAgain = false;

  const notify = () => {
    for (const drain of drains) {
      const drained = describedEpoch >= drain.epoch && [...shards.values()].every((s) => s.status === 'exhausted' || s.caughtUpEpoch >= drain.epoch);
      if (drained) {
        drains.delete(drain);
        drain.resolve();
      }
    }
  };

  /** Starts every waiting shard whose parent is exhausted or unknown (trimmed, or older than the stream's listing). */
  const startReadyShards = () => {
    for (const shard of shards.values()) {
      if (!running || shard.status !== 'waiting') continue;
      const parent = shard.parentId === undefined ? undefined : shards.get(shard.parentId);
      if (parent && parent.status !== 'exhausted') continue;
      shard.status = 'reading';
      const worker = readShard(shard).catch((error) => report({ size: 0, failed: 0, error }));
      workers.add(worker);
      void worker.finally(() => workers.delete(worker));
    }
  };

  const describeAll = async (): Promise<Shard[]> => {
    const all: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}) }),
        http,
      );
      all.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return all;
  };

  const describeLoop = async () => {
    let failures = 0;
    while (running) {
      const started = epoch;
      describeAgain = false;
      try {
        const listed = await describeAll();
        for (const s of listed) {
          if (!s.ShardId || shards.has(s.ShardId)) continue;
          const closed = s.SequenceNumberRange?.EndingSequenceNumber !== undefined;
          const atStart = !described;
          shards.set(s.ShardId, {
            id: s.ShardId,
            parentId: s.ParentShardId,
            // LATEST applies to the shards there at start; a closed one has nothing newer.
            status: atStart && startingPosition === 'LATEST' && closed ? 'exhausted' : 'waiting',
            start: atStart ? startingPosition : 'TRIM_HORIZON',
            checkpoint: undefined,
            caughtUpEpoch: -1,
          });
        }
        described = true;
        describedEpoch = started;
        failures = 0;
        startReadyShards();
        notify();
        if (!describeAgain) await timers.wait(describeIntervalMs, 'describe');
      } catch (error) {
        if (!running) return;
        report({ size: 0, failed: 0, error });
        await timers.wait(retryDelayMs(++failures), 'retry');
      }
    }
  };

  /** An iterator at the shard's checkpoint (or starting position); undefined once stopped. */
  const openIterator = async (shard: ShardState): Promise<string | undefined> => {
    let failures = 0;
    while (running) {
      const at: { ShardIteratorType: ShardIteratorType; SequenceNumber?: string } = shard.checkpoint
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.checkpoint }
        : { ShardIteratorType: shard.start };
      try {
        const opened = await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.id, ...at }), http);
        if (opened.ShardIterator) return opened.ShardIterator;
        throw new Error(`GetShardIterator returned no iterator for ${shard.id}`);
      } catch (error) {
        if (!running) return undefined;
        report({ size: 0, failed: 0, error });
        // The checkpoint fell out of the stream's retention: what is left starts at the trim horizon.
        if (errorName(error) === 'TrimmedDataAccessException') {
          shard.checkpoint = undefined;
          shard.start = 'TRIM_HORIZON';
        }
        await timers.wait(retryDelayMs(++failures), 'retry');
      }
    }
    return undefined;
  };

  const readShard = async (shard: ShardState) => {
    let iterator = await openIterator(shard);
    let failures = 0;
    while (running && iterator) {
      const started = epoch;
      let page: GetRecordsCommandOutput;
      try {
        page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(batchSize, GET_RECORDS_LIMIT) }), http);
      } catch (error) {
        if (!running) return;
        report({ size: 0, failed: 0, error });
        await timers.wait(retryDelayMs(++failures), 'retry');
        if (ITERATOR_ERRORS.has(errorName(error))) {
          // DynamoDB Local gives an empty shard's iterator the next sequence number of the whole
          // database: once any other table takes it, the shard's first record has a higher one and
          // the iterator fails with TrimmedDataAccessException for ever. Nothing was handed over
          // from this shard, and all it holds is newer than the iterator: its trim horizon is
          // where to resume (also for LATEST).
          if (errorName(error) === 'TrimmedDataAccessException' && !shard.checkpoint) shard.start = 'TRIM_HORIZON';
          // Every record read so far has been handed over, so the checkpoint is where to resume.
          iterator = await openIterator(shard);
        }
        continue;
      }
      failures = 0;
      const records = (page.Records ?? []).map((r) => toLambdaRecord(r, streamArn, options.awsRegion));
      if (records.length > 0 && !(await deliverBatch(shard, records))) return;
      if (!page.NextShardIterator) {
        shard.status = 'exhausted';
        startReadyShards();
        notify();
        // Describe now: the children of a closed shard may not be known yet.
        describeAgain = true;
        timers.wake();
        return;
      }
      iterator = page.NextShardIterator;
      if (records.length === 0) {
        shard.caughtUpEpoch = started;
        notify();
        // A drain that arrived during this read needs a read that started after it: no pause.
        if (started === epoch) await timers.wait(pollIntervalMs, 'poll');
      }
    }
  };

  /** Invokes the handler once; the outcome per the partial batch response rules. */
  const invoke = async (records: DynamoDBRecord[]): Promise<BatchOutcome> => {
    let response: DynamoDBBatchResponse | void;
    try {
      response = await handler({ Records: records }, lambdaContext(functionName, randomUUID()));
    } catch (error) {
      return { kind: 'function-error', error };
    }
    return readBatchResponse(records, response);
  };

  /** Gives records up: to onFailure until it succeeds. False if stopped before it did. */
  const discard = async (shard: ShardState, records: DynamoDBRecord[], attempts: number, error: unknown): Promise<boolean> => {
    let failures = 0;
    while (running) {
      try {
        await options.onFailure?.({ shardId: shard.id, records, attempts, ...(error === undefined ? {} : { error }) });
        return true;
      } catch (failure) {
        report({ size: records.length, failed: records.length, error: failure });
        await timers.wait(retryDelayMs(++failures), 'retry');
      }
    }
    return false;
  };

  /**
   * Hands one read batch to the handler until every record in it is done or discarded; the
   * shard's checkpoint follows. False if stopped first (the rest is not consumed).
   */
  const deliverBatch = async (shard: ShardState, batch: DynamoDBRecord[]): Promise<boolean> => {
    const pending: Segment[] = [{ records: batch, attempts: 0 }];
    while (pending.length > 0) {
      if (!running) return false;
      const segment = pending[0]!;
      const outcome = await invoke(segment.records);
      const size = segment.records.length;
      if (outcome.kind === 'done') {
        shard.checkpoint = sequenceOf(segment.records[size - 1]!);
        pending.shift();
        report({ size, failed: 0 });
        continue;
      }
      // Every record of a segment was in each invocation that failed it, so one count serves all.
      const attempts = segment.attempts + 1;
      const from = outcome.kind === 'partial' ? outcome.from : 0;
      if (from > 0) shard.checkpoint = sequenceOf(segment.records[from - 1]!);
      const remaining = segment.records.slice(from);
      if (outcome.kind === 'function-error' && bisect && remaining.length > 1) {
        const half = Math.ceil(remaining.length / 2);
        pending.splice(0, 1, { records: remaining.slice(0, half), attempts }, { records: remaining.slice(half), attempts });
        report({ size, failed: remaining.length, error: outcome.error });
      } else if (attempts > retryLimit) {
        report({ size, failed: remaining.length, error: outcome.error, discarded: remaining.length });
        if (!(await discard(shard, remaining, attempts, outcome.error))) return false;
        shard.checkpoint = sequenceOf(remaining[remaining.length - 1]!);
        pending.shift();
        continue;
      } else {
        pending[0] = { records: remaining, attempts };
        report({ size, failed: remaining.length, error: outcome.error });
      }
      await timers.wait(retryDelayMs(attempts), 'retry');
    }
    return true;
  };

  const describer = describeLoop().catch((error) => report({ size: 0, failed: 0, error }));

  return {
    async stop() {
      running = false;
      abort.abort();
      timers.clear();
      for (const drain of drains) drain.reject(new Error('stream event source stopped before it drained'));
      drains.clear();
      await describer;
      while (workers.size > 0) await Promise.allSettled([...workers]);
    },
    drain() {
      if (!running) return Promise.reject(new Error('stream event source is stopped'));
      // Requests that start from now on carry this epoch: an empty read among them proves that
      // the shard's records written before this call have all been handed over.
      const target = ++epoch;
      describeAgain = true;
      timers.wake();
      return new Promise<void>((resolve, reject) => {
        drains.add({ epoch: target, resolve, reject });
      });
    },
  };
}

interface ShardState {
  id: string;
  parentId: string | undefined;
  /** waiting (for its parent) -> reading -> exhausted (no NextShardIterator, or skipped by LATEST). */
  status: 'waiting' | 'reading' | 'exhausted';
  /** Where to open the shard while nothing has been handed over. */
  start: 'TRIM_HORIZON' | 'LATEST';
  /** Sequence number of the last record handed over (done or discarded); reading resumes after it. */
  checkpoint: string | undefined;
  /** Epoch at which the last empty GetRecords was issued. */
  caughtUpEpoch: number;
}

/** Contiguous records of one read batch that share their failure history. */
interface Segment {
  records: DynamoDBRecord[];
  attempts: number;
}

export type BatchOutcome =
  | { kind: 'done' }
  /** Records before `from` are done; `error` says what failed. */
  | { kind: 'partial'; from: number; error: Error }
  | { kind: 'function-error'; error: unknown };

/** Errors after which the iterator is no good and must be reopened at the checkpoint. */
const ITERATOR_ERRORS = new Set(['ExpiredIteratorException', 'TrimmedDataAccessException', 'ValidationException']);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function sequenceOf(record: DynamoDBRecord): string {
  return record.dynamodb!.SequenceNumber!;
}

/**
 * Reads a handler's answer as Lambda does with ReportBatchItemFailures: nothing or an empty list
 * is success; otherwise retry from the lowest failed sequence number; an identifier that is not a
 * sequence number of the batch fails the whole batch.
 */
export function readBatchResponse(records: DynamoDBRecord[], response: DynamoDBBatchResponse | void | null): BatchOutcome {
  // Handlers are plain JavaScript at run time: nothing in the answer is trusted to match its type.
  const failures: unknown = response?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return { kind: 'done' };
  const indexBySequence = new Map(records.map((r, i) => [sequenceOf(r), i]));
  let from = records.length;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? indexBySequence.get(id) : undefined;
    if (index === undefined) {
      return { kind: 'partial', from: 0, error: new Error(`batchItemFailures names ${JSON.stringify(id)}, not a sequence number of the batch: the whole batch failed`) };
    }
    from = Math.min(from, index);
  }
  return { kind: 'partial', from, error: new Error(`handler reported record ${sequenceOf(records[from]!)} failed`) };
}

/** A DynamoDB Streams record as Lambda hands it to a function. */
export function toLambdaRecord(record: _Record, streamArn: string, awsRegion?: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID!,
    eventName: record.eventName!,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: awsRegion ?? record.awsRegion!,
    dynamodb: {
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) } : {}),
      ...(d.Keys ? { Keys: toLambdaImage(d.Keys) } : {}),
      ...(d.NewImage ? { NewImage: toLambdaImage(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: toLambdaImage(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber!,
      SizeBytes: d.SizeBytes!,
      StreamViewType: d.StreamViewType!,
    },
    eventSourceARN: streamArn,
    // Present for deletions by TTL: { type: 'Service', principalId: 'dynamodb.amazonaws.com' }.
    ...(record.userIdentity ? { userIdentity: { ...record.userIdentity } } : {}),
  };
}

function toLambdaImage(image: Record<string, StreamAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));
}

/** The SDK parses binary values to bytes; Lambda's event (JSON) carries them as base64. */
function toLambdaValue(value: StreamAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  // DynamoDB Local's stream records write an empty map as `{}` instead of `{"M":{}}` (its tables
  // and DynamoDB's own streams keep the type): no other attribute value is ever empty.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new Error(`unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

type WaitKind = 'poll' | 'describe' | 'retry';

/**
 * The source's timers, so that stop() leaves none behind. wake() ends the idle waits (poll,
 * describe) early, for drain() and for a shard that just ended; retry backoffs run their course.
 */
function createTimers() {
  const pending = new Set<{ timer: NodeJS.Timeout; kind: WaitKind; resolve: () => void }>();
  let cleared = false;
  const end = (entry: { timer: NodeJS.Timeout; resolve: () => void }) => {
    clearTimeout(entry.timer);
    pending.delete(entry as never);
    entry.resolve();
  };
  return {
    wait(ms: number, kind: WaitKind): Promise<void> {
      if (cleared) return Promise.resolve();
      return new Promise((resolve) => {
        const entry = { timer: setTimeout(() => end(entry), Math.max(0, ms)), kind, resolve };
        pending.add(entry);
      });
    },
    wake() {
      for (const entry of [...pending]) if (entry.kind !== 'retry') end(entry);
    },
    clear() {
      cleared = true;
      for (const entry of [...pending]) end(entry);
    },
  };
}
