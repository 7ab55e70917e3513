import middy from '@middy/core';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createDeps, type Deps } from '../lib/deps';
import { eventBridgePublisher } from '../lib/notifications/eventbridge';
import { appendToFeed, toFeedEvent } from '../lib/notifications/feed';
import { notifyChanges, type StreamChange } from '../lib/notifications/notify';
import type { EventPublisher } from '../lib/notifications/publisher';
import type { NotificationEvent } from '../schemas/events';

type Image = Record<string, AttributeValue>;

/**
 * DynamoDB Streams (game servers, load balancers) -> events. Runs with ReportBatchItemFailures:
 * the first failed record is reported, and the stream delivers it and everything after it again.
 * With BisectBatchOnFunctionError, a batch that starts with an unreadable record fails as a whole,
 * and halving isolates that record.
 */
export function makeHandler(deps: Deps, publisher: EventPublisher) {
  const tableOf = (record: DynamoDBRecord): StreamChange['table'] => {
    // arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    const name = record.eventSourceARN?.split(':table/')[1]?.split('/stream/')[0];
    if (name === deps.config.tables.gameServers) return 'gs';
    if (name === deps.config.tables.loadBalancers) return 'lb';
    throw new Error(`stream record from an unknown table: ${record.eventSourceARN}`);
  };
  return middy(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const changes: StreamChange[] = event.Records.map((record) => ({
      sequenceNumber: record.dynamodb!.SequenceNumber!,
      table: tableOf(record),
      ...(record.dynamodb?.OldImage ? { old: unmarshall(record.dynamodb.OldImage as Image) } : {}),
      ...(record.dynamodb?.NewImage ? { new: unmarshall(record.dynamodb.NewImage as Image) } : {}),
    }));
    const result = await notifyChanges(publisher, changes, deps.config.notifications.source);
    await recordInFeed(deps, result.events);
    if (result.failed) {
      deps.logger.error('stream record not published: it and the records after it are delivered again', {
        sequenceNumber: result.failed.sequenceNumber,
        error: result.failed.error as Error,
      });
    }
    // A record no retry can read, first in its batch: fail the invocation, so that the event
    // source bisects the batch and only that record ends in the on-failure destination (a partial
    // batch response is retried as it is, and would take the records after it along).
    if (result.failed?.permanent && result.handled === 0) throw result.failed.error;
    deps.logger.info('stream batch', { size: changes.length, handled: result.handled, published: result.events.length, failed: result.failed ? 1 : 0 });
    deps.metrics.addMetric('EventsPublished', MetricUnit.Count, result.events.length);
    deps.metrics.addMetric('StreamRecordsFailed', MetricUnit.Count, result.failed ? 1 : 0);
    return { batchItemFailures: result.failed ? [{ itemIdentifier: result.failed.sequenceNumber }] : [] };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics));
}

/**
 * What was published goes to the recent-events feed (dashboards), in one write. The feed is a
 * view: a failed write is logged and counted (FeedWritesFailed) and fails nothing, since the
 * subscribers already have the events and a retry would publish them again.
 */
async function recordInFeed(deps: Deps, events: NotificationEvent[]): Promise<void> {
  try {
    await appendToFeed(deps, events.map(toFeedEvent), deps.clock());
  } catch (error) {
    deps.logger.warn('recent-events feed not written: dashboards miss these events', { events: events.length, error: error as Error });
    deps.metrics.addMetric('FeedWritesFailed', MetricUnit.Count, 1);
  }
}

/** The stage bus (EVENT_BUS_NAME, set by the stack); without it every batch fails, loudly, and is retried. */
function stageBus(deps: Deps): EventPublisher {
  const bus = deps.config.notifications.eventBusName;
  if (!bus) return { publish: async () => Promise.reject(new Error('EVENT_BUS_NAME is not set: the notifier publishes to the stage bus')) };
  return eventBridgePublisher(new EventBridgeClient({ region: deps.config.awsRegion }), bus);
}

const deps = createDeps();
export const handler = makeHandler(deps, stageBus(deps));
