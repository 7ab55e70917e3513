import type { Deps } from '../deps';
import { forEachLimited } from '../concurrency';
import { findStaleHeldServers, markStale } from '../game-servers/stale-watch';

export interface StaleSweepResult {
  /** Held servers the index showed past their heartbeat deadline. */
  found: number;
  /** Marked stale by this sweep (each tells subscribers `gs.stale`, and `claim.lost` if a claim was live). */
  marked: number;
  /** Found, but a heartbeat, a release or another sweep came first. */
  skipped: number;
}

/** Marks run a few at a time: a sweep after an outage may find thousands. */
const MARK_CONCURRENCY = 8;

/**
 * The stale sweep (every minute on AWS and locally): a stale server writes nothing, so nothing
 * would stream; this writes the change that does. It reads only held servers whose heartbeats
 * stopped (the sparse stale-watch index), marks each one (a conditional write: a server that
 * heartbeated in between is left alone), and marked servers leave the index, so the next sweep
 * does not read them again. Safe to run twice at once: a mark applies once.
 */
export async function sweepStaleServers(deps: Pick<Deps, 'ddb' | 'config' | 'clock'>): Promise<StaleSweepResult> {
  const now = deps.clock();
  const found = await findStaleHeldServers(deps, now);
  const result: StaleSweepResult = { found: found.length, marked: 0, skipped: 0 };
  await forEachLimited(found, MARK_CONCURRENCY, async ({ endpoint }) => {
    if ((await markStale(deps, endpoint, now)) === 'marked') result.marked++;
    else result.skipped++;
  });
  return result;
}
