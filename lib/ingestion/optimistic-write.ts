import { backoffDelay, sleep } from '../backoff';

/** Optimistic-lock retries before the event is handed back to the queue for a later attempt. */
export const MAX_ATTEMPTS = 8;
/**
 * After a lost race, wait a random time up to this times 2^(attempt-1) before reading again:
 * writers that collided once would otherwise collide again in lock step (full jitter).
 */
const CONTENTION_BACKOFF_MS = 5;

const afterLostRace = (attempt: number) => sleep(backoffDelay(attempt, { baseMs: CONTENTION_BACKOFF_MS, jitter: 'full' }));

/** Too many concurrent writers on one record: the event goes back to the queue for a later attempt. */
export class ContentionError extends Error {
  override name = 'ContentionError';
}

/** What one attempt decided: nothing to write (`done`), or a conditional put and what follows it. */
export type WriteAttempt<R> =
  | { kind: 'done'; result: R }
  /** `put` writes only if the record is unchanged since it was read; `written` runs after it did. */
  | { kind: 'put'; put: () => Promise<'written' | 'conflict'>; written: () => R | Promise<R> };

export interface OptimisticWrite<S, R> {
  /** Named in the ContentionError, e.g. `game-server 10.0.0.1:7777`. */
  subject: string;
  read: () => Promise<S>;
  /** Decides against the record read (a pure decider; may read what the decider asks for). */
  decide: (stored: S, attempt: number) => WriteAttempt<R> | Promise<WriteAttempt<R>>;
  /** After a lost race, before backing off: forget what the concurrent writer may have changed. */
  lostRace?: () => void;
}

/**
 * The optimistic-lock loop: read, decide, put if the record's version is still the one read; a
 * concurrent writer (another event, a claim, a sweep) makes the put fail its condition, and after a
 * full-jitter backoff the record is read and decided again. The result is durable when this
 * resolves. Throws ContentionError after MAX_ATTEMPTS lost races.
 */
export async function writeOptimistically<S, R>(write: OptimisticWrite<S, R>): Promise<R> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const decided = await write.decide(await write.read(), attempt);
    if (decided.kind === 'done') return decided.result;
    if ((await decided.put()) === 'written') return decided.written();
    write.lostRace?.();
    await afterLostRace(attempt);
  }
  throw new ContentionError(`gave up on ${write.subject} after ${MAX_ATTEMPTS} conflicting writes`);
}
