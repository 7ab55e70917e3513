import type { ClaimItem, GameServerItem } from '../../schemas/items';
import { backoffDelay, sleep } from '../backoff';
import type { Deps } from '../deps';
import { DomainError, ErrorCodes, ServiceUnavailableError } from '../errors';
import { claimReplacementServer, confirmServerTransition, releaseLostServer, releaseServerTransition, renewServerTransition } from '../game-servers/claim-writes';
import { listAvailableGameServers } from '../game-servers/list';
import { getGameServer, getGameServers } from '../game-servers/records';
import type { ServerFilter } from '../game-servers/select';
import { effectiveStatus } from '../game-servers/view';
import { mayAct, type Actor } from '../ownership';
import { commitReplacement, getClaim, undoReplacement } from './repo';

export interface ReplaceRequest extends ServerFilter {
  claimId: string;
  /** The claim's server to replace: it must be lost (lostReason). */
  lost: string;
  /** The replacement's node differs from the node of every other server of the claim. */
  distinctNodes: boolean;
}

export type ReplaceOutcome =
  | {
      kind: 'replaced';
      claim: ClaimItem;
      /** The current records of the claim's servers, in the claim's order. */
      servers: GameServerItem[];
      lost: string;
      replacement: string;
      /** The replace was done before (a retry, or a concurrent replace of the same server won). */
      replayed: boolean;
    }
  /** No available server matches (the caller retries later); nothing changed. */
  | { kind: 'none-available' };

/** Why a server of a claim counts as lost: what a replace requires of the server it replaces. */
export type LostReason = 'gone' | 'taken' | 'draining' | 'terminated' | 'stale' | 'expired';

/**
 * Whether (and why) a server of the claim is lost, from its current record: gone (no record),
 * taken (no longer held by the claim's attempt: its lease ran out and someone else claimed it, or a
 * new pod took over the endpoint), draining or terminated, stale (no heartbeat within the timeout),
 * or expired (its lease or hold ran out). Undefined: the claim holds it and it is healthy. Pure.
 */
export function lostReason(server: GameServerItem | undefined, claim: Pick<ClaimItem, 'claimId' | 'attemptId'>, now: number): LostReason | undefined {
  if (!server) return 'gone';
  if (server.claimId !== claim.claimId || server.claimAttempt !== claim.attemptId) return 'taken';
  if (server.status === 'draining' || server.status === 'terminated') return server.status;
  if (server.freshUntil <= now) return 'stale';
  if (effectiveStatus(server, now) === 'available') return 'expired';
  return undefined;
}

/** The deadline a live claim holds its servers until: its hold when confirmed, else its lease. */
function deadlineOf(claim: ClaimItem): number {
  return claim.status === 'confirmed' ? (claim.holdExpiresAt ?? claim.leaseExpiresAt) : claim.leaseExpiresAt;
}

/**
 * The candidates to try, in random order: available servers matching the filter that are not the
 * claim's, on none of `excludedNodes` (the nodes of the claim's other servers) when distinct nodes
 * are asked for. Pure: randomness is injected.
 */
export function replacementCandidates(
  listed: readonly GameServerItem[],
  claimEndpoints: readonly string[],
  excludedNodes: ReadonlySet<string>,
  distinctNodes: boolean,
  random: () => number = Math.random,
): GameServerItem[] {
  const own = new Set(claimEndpoints);
  const eligible = listed.filter((server) => !own.has(server.endpoint) && !(distinctNodes && excludedNodes.has(server.node)));
  for (let i = eligible.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  return eligible;
}

/** Available servers listed per listing (the claim's nodes excluded after), and candidates tried from them. */
const LISTING_SIZE = 50;
const CANDIDATES = 5;
/** Listings per replace before the pool counts as empty (each after losing every candidate to others). */
const MAX_LISTINGS = 3;
/** Re-reads after the record moved under a commit (a concurrent replace, renew or confirm) before answering 503. */
const MAX_COMMIT_ATTEMPTS = 4;
/**
 * Commits (and undos) cancelled by a concurrent transaction on the same items are tried again this
 * often, after a short jittered wait: nothing was written, and concurrent replaces of one claim
 * commit on the same record.
 */
const MAX_CONFLICT_RETRIES = 8;
const conflictDelay = (retry: number) => backoffDelay(retry, { baseMs: 20, maxMs: 400, jitter: 'equal' });

/**
 * The claim, if the actor may act on it: another principal's claim is answered exactly like a
 * claim id that was never used (404), as confirm, renew and release answer it (settle.ts); the
 * commit's condition enforces the same rule (ownerClause).
 */
async function requireClaim(deps: Deps, claimId: string, actor: Actor): Promise<ClaimItem> {
  const claim = await getClaim(deps, claimId);
  if (!claim || !mayAct(actor, claim.owner)) throw new DomainError(ErrorCodes.claimNotFound, `Claim ${claimId} not found`);
  return claim;
}

const released = (claim: ClaimItem) => new DomainError(ErrorCodes.claimReleased, `Claim ${claim.claimId} was released`);

/** Refusals of a claim that cannot take a replacement: released, or past its lease or hold. */
function requireLive(claim: ClaimItem, now: number): void {
  if (claim.status === 'released') throw released(claim);
  if (deadlineOf(claim) <= now) {
    const what = claim.status === 'confirmed' ? 'hold' : 'lease';
    throw new DomainError(ErrorCodes.claimExpired, `Claim ${claim.claimId}: its ${what} ran out; renew the claim first`, { status: claim.status });
  }
}

/**
 * Replaces a lost server of a live claim (leased or confirmed, within its lease or hold) with an
 * available one, for the claim's owner or an admin. The protocol (README "How a claim works"):
 *
 * a. Claim a replacement: an available, fresh server matching the filter, not the claim's, on a
 *    node of its own among the claim's other servers (distinctNodes), with the very conditional
 *    write a claim uses (claimServerUpdate: claimable at this call's clock, not returned to the
 *    pool since, still the node and filter listed), under the claim's id and attempt and a lease:
 *    until the claim's lease (leased), or for the claim's leaseSeconds within its hold (confirmed).
 *    Nobody is told of it yet; if this call dies, the lease returns the server to the pool.
 * b. Commit (repo.ts commitReplacement): one transaction swaps `lost` for the replacement in the
 *    record's endpoints and records `replaced[lost]`, and moves the replacement into the claim's
 *    state (busy under the claim's hold, or claimed until its lease) — only if the record is still
 *    as read (attempt, status, deadline, owner, `lost` in place) and the attempt still holds the
 *    replacement, fresh. From here the answer is final.
 * c. Release the lost server from the claim if its attempt still holds it (releaseLostServer):
 *    claimed or busy (stale, run out) back to the pool; draining or terminated keep their status.
 *
 * Every step is safe to repeat. A retry (the same claim and `lost`) finds `replaced[lost]`, does
 * (c) again and answers the same replacement (`replayed`). Of concurrent replaces of one server,
 * one commits; the others give their replacements back (undoReplacement: only while the record
 * does not list them) and answer the winner's. A replacement taken in (a) but not committed is
 * always given back the same way, whatever happened — a commit whose outcome is unknown included:
 * if it did land, the record lists the server and the undo changes nothing.
 *
 * Throws claim.not_found (also another principal's claim), claim.released, claim.expired,
 * claim.server_not_in_claim, claim.server_not_lost (with the server's status), and the client's
 * errors (transient ones become 503; a retry answers what the first call did).
 */
export async function replaceClaimServer(deps: Deps, request: ReplaceRequest, actor: Actor, random: () => number = Math.random): Promise<ReplaceOutcome> {
  const filter: ServerFilter = {
    ...(request.region !== undefined ? { region: request.region } : {}),
    ...(request.group !== undefined ? { group: request.group } : {}),
    ...(request.labels !== undefined ? { labels: request.labels } : {}),
  };
  /** A replacement this call claimed in (a) and has not committed. */
  let held: GameServerItem | undefined;
  /** The last record read: what an undo is conditioned against. */
  let claim: ClaimItem | undefined;
  const giveBack = async () => {
    if (!held || !claim) return;
    const server = held;
    held = undefined;
    await undoHeld(deps, claim, server);
  };

  let conflicts = 0;
  try {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      claim = await requireClaim(deps, request.claimId, actor);
      // A concurrent replace of another of the claim's servers committed the server this call
      // holds (both claimed it under the claim's attempt): it is the claim's now, not ours to use.
      if (held && claim.endpoints.includes(held.endpoint)) held = undefined;
      const index = claim.endpoints.indexOf(request.lost);
      if (index < 0) {
        // Not (or no longer) one of the claim's servers: a retry of a replace that committed, a
        // concurrent replace of it that won, or a server the claim never had.
        const replacement = claim.replaced?.[request.lost];
        if (replacement === undefined) {
          if (claim.status === 'released') throw released(claim);
          throw new DomainError(ErrorCodes.claimServerNotInClaim, `Game server ${request.lost} is not one of claim ${claim.claimId}'s servers`);
        }
        if (held?.endpoint !== replacement) await giveBack();
        const replayed = held === undefined;
        held = undefined;
        return await finish(deps, claim, request.lost, replacement, replayed);
      }
      const now = deps.clock();
      requireLive(claim, now);
      const records = await getGameServers(deps, claim.endpoints);
      const reason = lostReason(records.get(request.lost), claim, now);
      if (reason === undefined) {
        const status = effectiveStatus(records.get(request.lost)!, now);
        throw new DomainError(ErrorCodes.claimServerNotLost, `Game server ${request.lost} is held by claim ${claim.claimId} and healthy (${status}): nothing to replace`, { status });
      }
      if (!held) {
        held = await claimReplacement(deps, claim, request, filter, records, actor, random);
        if (!held) {
          // Nothing to take; but a concurrent replace of this server may have taken the last one
          // and committed meanwhile: then its answer is this call's too.
          const current = await getClaim(deps, request.claimId);
          if (current?.endpoints[index] === request.lost) return { kind: 'none-available' };
          continue;
        }
      }
      const committed = await commitReplacement(deps, actor, {
        claim,
        lost: request.lost,
        replacement: held.endpoint,
        index,
        server: joinClaim(deps, claim, held.endpoint),
      });
      if (committed.kind === 'committed') {
        deps.logger.info('claim server replaced', { claimId: claim.claimId, lost: request.lost, replacement: held.endpoint, reason });
        const replacement = held.endpoint;
        held = undefined;
        return await finish(deps, { ...claim, endpoints: claim.endpoints.map((e, i) => (i === index ? replacement : e)), replaced: { ...claim.replaced, [request.lost]: replacement } }, request.lost, replacement, false);
      }
      if (committed.kind === 'conflict' && conflicts < MAX_CONFLICT_RETRIES) {
        // Nothing written; the record is read again (a concurrent commit may have done this one).
        await sleep(conflictDelay(++conflicts));
        attempt--;
        continue;
      }
      if (committed.kind === 'replacement-changed') {
        // Our lease on it ran out and it went stale or to someone else: give back what is still
        // ours of it, and claim another.
        await giveBack();
      }
      // record-changed: a concurrent replace, confirm, renew or release moved the record; read it
      // again (the replacement stays held for the next commit, or is given back above).
    }
    throw new ServiceUnavailableError(`Claim ${request.claimId} is being changed concurrently; retry`);
  } finally {
    await giveBack().catch((error: unknown) => {
      deps.logger.warn('replacement not given back; its lease returns it', { claimId: request.claimId, error: String(error) });
    });
  }
}

/** The replacement's transition into the claim's state, for the commit (busy under the hold, or claimed until the lease). */
function joinClaim(deps: Deps, claim: ClaimItem, endpoint: string) {
  const server = { endpoint, claimId: claim.claimId, attemptId: claim.attemptId, now: deps.clock() };
  return claim.status === 'confirmed'
    ? confirmServerTransition(deps.config.tables.gameServers, { ...server, holdExpiresAt: claim.holdExpiresAt! })
    : renewServerTransition(deps.config.tables.gameServers, { ...server, status: 'claimed', until: claim.leaseExpiresAt });
}

/**
 * Step (a): claims the first candidate it can under the claim's id and attempt. Undefined: no
 * available server matches (after MAX_LISTINGS listings, each lost to other claimers).
 */
async function claimReplacement(
  deps: Deps,
  claim: ClaimItem,
  request: ReplaceRequest,
  filter: ServerFilter,
  records: Map<string, GameServerItem>,
  actor: Actor,
  random: () => number,
): Promise<GameServerItem | undefined> {
  const excludedNodes = new Set(claim.endpoints.filter((e) => e !== request.lost).flatMap((e) => records.get(e)?.node ?? []));
  for (let listing = 1; listing <= MAX_LISTINGS; listing++) {
    const now = deps.clock();
    // Every server listed, not one per node: a node's other servers are candidates too when its
    // first one goes to someone else.
    const listed = await listAvailableGameServers(deps, { ...filter, limit: LISTING_SIZE, distinctNodes: false }, now);
    const candidates = replacementCandidates(listed, claim.endpoints, excludedNodes, request.distinctNodes, random).slice(0, CANDIDATES);
    if (candidates.length === 0) return undefined;
    // The server is held until the claim's lease ends (leased), or for the claim's own lease
    // length within its hold (confirmed): long enough to commit, short if this call dies first.
    const leaseExpiresAt = claim.status === 'confirmed' ? Math.min(now + claim.leaseSeconds * 1000, deadlineOf(claim)) : claim.leaseExpiresAt;
    for (const candidate of candidates) {
      let result: Awaited<ReturnType<typeof claimReplacementServer>>;
      try {
        result = await claimReplacementServer(deps, {
          endpoint: candidate.endpoint,
          claimId: claim.claimId,
          attemptId: claim.attemptId,
          owner: claim.owner ?? actor.principal,
          now,
          leaseExpiresAt,
          expect: { ...filter, node: candidate.node },
        });
      } catch (error) {
        // Unknown outcome: give it back if it landed (only while the record does not list it).
        await undoHeld(deps, claim, candidate).catch(() => undefined);
        throw error;
      }
      if (result.kind === 'claimed') return candidate;
    }
  }
  return undefined;
}

/** Gives back a replacement claimed in step (a) and not committed (best effort: its lease returns it otherwise). */
async function undoHeld(deps: Deps, claim: ClaimItem, server: GameServerItem): Promise<void> {
  const release = releaseServerTransition(deps.config.tables.gameServers, {
    endpoint: server.endpoint,
    claimId: claim.claimId,
    attemptId: claim.attemptId,
    now: deps.clock(),
    status: 'claimed',
  });
  let outcome = await undoReplacement(deps, claim, release);
  for (let retry = 1; outcome === 'conflict' && retry <= MAX_CONFLICT_RETRIES; retry++) {
    await sleep(conflictDelay(retry));
    outcome = await undoReplacement(deps, claim, release);
  }
  deps.logger.info('replacement given back', { claimId: claim.claimId, endpoint: server.endpoint, outcome });
}

/**
 * After the commit (or on a retry that finds it): step (c), the lost server leaves the claim if
 * its attempt still holds it, then the answer from the record.
 */
async function finish(deps: Deps, claim: ClaimItem, lost: string, replacement: string, replayed: boolean): Promise<Extract<ReplaceOutcome, { kind: 'replaced' }>> {
  const current = await getGameServer(deps, lost);
  if (current && current.claimId === claim.claimId && current.claimAttempt === claim.attemptId) {
    const released = await releaseLostServer(deps, { endpoint: lost, claimId: claim.claimId, attemptId: claim.attemptId, now: deps.clock(), status: current.status });
    if (released.kind === 'released') deps.logger.info('lost server left the claim', { claimId: claim.claimId, endpoint: lost, status: current.status });
  }
  const servers = await getGameServers(deps, claim.endpoints);
  return {
    kind: 'replaced',
    claim,
    servers: claim.endpoints.flatMap((endpoint) => servers.get(endpoint) ?? []),
    lost,
    replacement,
    replayed,
  };
}
