import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { claimGameServers, claimRequestHash, type ClaimRequest } from '../lib/claims/claim';
import { singleFlight } from '../lib/single-flight';
import { toClaim } from '../lib/claims/view';
import { durationDefaults } from '../lib/config';
import { createDeps, type Deps } from '../lib/deps';
import { DomainError, ErrorCodes } from '../lib/errors';
import { CandidateCache } from '../lib/game-servers/candidates';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';
import { claimRequestSchema } from '../schemas/http';
import { actorOf } from './actor';

/** Seconds a caller is asked to wait when nothing suitable is available. */
const RETRY_AFTER_SECONDS = 2;

/** POST /claim-gs: find and claim `count` servers (all or nothing) under a lease, idempotently. */
export function makeHandler(deps: Deps) {
  const candidates = new CandidateCache(deps, { ttlMs: deps.config.candidateCacheMs });
  // Concurrent identical requests (same owner, claim id and request) share one attempt; any other
  // combination runs its own, so that it gets claim.mismatch, never another request's servers.
  // Metrics once per claim run (not per request sharing it), here at the handler like the poller's.
  const claimOnce = singleFlight(async (_key: string, request: ClaimRequest) => {
    const started = deps.clock();
    const outcome = await claimGameServers(deps, candidates, request);
    if (outcome.kind === 'claimed') {
      deps.metrics.addMetric('ClaimSucceeded', MetricUnit.Count, 1);
      deps.metrics.addMetric('ClaimLatency', MetricUnit.Milliseconds, deps.clock() - started);
    }
    if (outcome.kind === 'none-available') deps.metrics.addMetric('ClaimNoneAvailable', MetricUnit.Count, 1);
    if (outcome.stats.conflicts > 0) deps.metrics.addMetric('ClaimConflict', MetricUnit.Count, outcome.stats.conflicts);
    if (outcome.stats.undoFailures > 0) deps.metrics.addMetric('ClaimUndoFailed', MetricUnit.Count, outcome.stats.undoFailures);
    return outcome;
  });
  const claimShared = (request: ClaimRequest) => claimOnce(JSON.stringify([request.owner, request.claimId, claimRequestHash(request)]), request);
  return httpHandler(deps, { ...routeSpec('claim-gs'), body: claimRequestSchema(durationDefaults(deps.config)) }, async ({ body, caller }) => {
    const actor = actorOf(caller);
    const outcome = await claimShared({ ...body, owner: actor.principal });
    if (outcome.kind === 'none-available') {
      throw new DomainError(
        ErrorCodes.gsNoneAvailable,
        outcome.reason === 'empty' ? 'No game servers match the request right now' : 'Game servers are heavily contended; retry',
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    const claim = toClaim(outcome.claim, outcome.servers, deps.clock(), actor);
    return {
      statusCode: 200,
      body: { ...claim, replayed: outcome.kind === 'existing' },
      audit: { endpoints: outcome.claim.endpoints, replayed: outcome.kind === 'existing' },
    };
  });
}

export const handler = makeHandler(createDeps());
