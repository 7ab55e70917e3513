import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { createDeps, type Deps } from '../lib/deps';
import { sweepStaleServers } from '../lib/notifications/stale-sweep';

/** Scheduled every minute: marks held servers whose heartbeats stopped (lib/notifications/stale-sweep.ts). */
export function makeHandler(deps: Deps) {
  return middy(async () => {
    const result = await sweepStaleServers(deps);
    deps.logger.info('stale sweep', { ...result });
    deps.metrics.addMetric('StaleServersMarked', MetricUnit.Count, result.marked);
    return result;
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics));
}

export const handler = makeHandler(createDeps());
