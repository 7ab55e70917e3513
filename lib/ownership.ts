import { createHash } from 'node:crypto';

/**
 * Who holds what. Every claim (a claim record and its servers, or a set-gs-busy hold) stores its
 * owner: the principal that made it (`key:<name>`, or an IAM principal; see lib/auth/keys.ts Caller).
 * Only the owner may see a claim's id or change the claim; the admin role may act for anyone.
 * Records written before owners were stored carry none: any caller of the route may act on them
 * (as before), until they expire (a hold lasts at most MAX_HOLD_SECONDS).
 */
export interface Actor {
  principal: string;
  /** The admin role: may see and change other principals' claims (never makes claims for them). */
  admin: boolean;
}

/** Whether the actor may change (confirm, renew, release) what `owner` holds. */
export function mayAct(actor: Actor, owner: string | undefined): boolean {
  return actor.admin || owner === undefined || owner === actor.principal;
}

/** Whether the viewer may see the claim id of what `owner` holds: exactly who may act on it. */
export function maySee(viewer: Actor | undefined, owner: string | undefined): boolean {
  return viewer !== undefined && mayAct(viewer, owner);
}

/**
 * The clause of a conditional write that lets only the owner through (ownerless records: anyone),
 * and its value: what mayAct checks, enforced by DynamoDB itself. None for an admin.
 */
export function ownerClause(actor: Actor): { clause?: string; values: Record<string, string> } {
  if (actor.admin) return { values: {} };
  return { clause: 'attribute_not_exists(#owner) OR #owner = :owner', values: { ':owner': actor.principal } };
}

/**
 * An opaque, stable reference of a claim, for views that group a claim's servers for callers who
 * may not see its id (a dashboard's reader): a digest of the id, not the id. Claim ids are chosen
 * by their owners; one guessable by others (not a UUID) can be found from its digest, which
 * reveals only that the guess was right: the id gives no one the claim (mayAct checks the owner).
 */
export function claimReference(claimId: string): string {
  return `c-${createHash('sha256').update(claimId).digest('hex').slice(0, 12)}`;
}
