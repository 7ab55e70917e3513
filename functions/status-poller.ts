import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDeps, type Deps } from '../lib/deps';
import { processStatusBatch } from '../lib/ingestion/process-batch';

/**
 * SQS -> DynamoDB. Runs with `functionResponseType: ReportBatchItemFailures`: only the messages
 * listed as failures go back to the queue; the rest are deleted by Lambda after we return.
 */
export function makeHandler(deps: Deps) {
  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const result = await processStatusBatch(
      deps,
      event.Records.map((record) => ({
        messageId: record.messageId,
        body: record.body,
        sentTimestamp: Number(record.attributes.SentTimestamp),
      })),
    );
    deps.logger.info('status batch', {
      size: event.Records.length,
      applied: result.applied,
      ignored: result.ignored,
      rejected: result.rejected,
      clamped: result.clamped,
      failed: result.failedMessageIds.length,
    });
    deps.metrics.addMetric('EventsApplied', MetricUnit.Count, result.applied);
    deps.metrics.addMetric('EventsIgnored', MetricUnit.Count, result.ignored);
    deps.metrics.addMetric('EventsRejected', MetricUnit.Count, result.rejected);
    deps.metrics.addMetric('EventsSentAtClamped', MetricUnit.Count, result.clamped);
    deps.metrics.addMetric('EventsFailed', MetricUnit.Count, result.failedMessageIds.length - result.rejected);
    return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics));
}

export const handler = makeHandler(createDeps());
