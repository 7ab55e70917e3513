import { anyOf } from '../dynamo';

/**
 * Named clauses of the conditions on game-server records (claim writes, availability queries).
 * Each is one comparison or one AND of them, never wrapped in parentheses of its own: allOf/anyOf
 * add them where clauses are combined (DynamoDB refuses redundant ones). Placeholders: `:now` is
 * the writer's clock; `:claimId`, `:attempt` the claim and its attempt.
 */

/** The record is there (a missing one is "not found", not "taken"). */
export const serverExists = 'attribute_exists(#endpoint)';
/**
 * Claimable at the writer's clock: available, or a lease/hold that has run out. Busy, draining
 * and terminated servers sit at availableAt = hold end or NEVER.
 */
export const claimableNow = '#availableAt <= :now';
/**
 * Claimable now, from the pool position `:from` on: the available servers at or after it (in
 * position order), then every lease or hold that has run out.
 */
export const claimableFrom = '#availableAt BETWEEN :from AND :now';
/** The available servers before the pool position `:before` (below every timestamp). */
export const positionedBefore = '#availableAt < :before';
/**
 * What a claim or hold asks of a server at its writer's clock, as clauses for allOf: claimable now,
 * and not returned to the pool after that clock — so a copy of the write that arrives late (a
 * delayed packet, a retry after its caller moved on) finds any later lease or hold (availableAt)
 * or release (returnedAt) and does nothing. An available server's availableAt is its pool
 * position, not the time it returned, so that time is kept apart.
 */
export const claimableAtWritersClock = {
  claimableNow,
  notReturnedSince: anyOf({ never: 'attribute_not_exists(#returnedAt)', before: '#returnedAt <= :now' }),
};
/** Heartbeated within the timeout: a stale server is neither offered nor claimable. */
export const isFresh = '#freshUntil > :now';
/** The claim attempt holds the server (its own earlier write, or the claim it committed). */
export const heldByAttempt = '#claimId = :claimId AND #claimAttempt = :attempt';
/** A direct (set-gs-busy) hold under the claim id: no claim attempt. */
export const heldDirectly = '#claimId = :claimId AND attribute_not_exists(#claimAttempt)';
export const isClaimed = '#status = :claimed';
export const isBusy = '#status = :busy';
/** The status the transition expects (`:status`). */
export const statusIs = '#status = :status';
/** Claimed or busy: held, and back in the pool once released. */
export const isHeld = '#status IN (:claimed, :busy)';
/** Draining or terminated: a release only drops the claim, the status stays. */
export const isRetired = '#status IN (:draining, :terminated)';
