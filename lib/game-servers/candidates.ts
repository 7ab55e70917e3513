import type { GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { queryAvailablePage } from './availability-query';
import { listAvailableGameServers } from './list';
import { pickCandidates, type ServerFilter } from './select';

interface Entry {
  items: GameServerItem[];
  fetchedAt: number;
  /** The listing saw every claimable server of the pool: listing more cannot find another. */
  wholePool: boolean;
  /** Candidates handed out from this listing: what the next window of this instance is sized by. */
  taken: number;
  refreshing?: Promise<Entry>;
}

export interface CandidateCacheOptions {
  /** How long a listing is reused (CANDIDATE_CACHE_MS). 0 lists afresh for every attempt. */
  ttlMs: number;
  /** Servers listed per refresh at most (the walk over every shard lists this many). */
  listSize?: number;
  /**
   * Servers a window lists at least. A window is twice what the instance took from its last one,
   * between this and listSize: a Lambda instance serving one request at a time takes a few
   * candidates per window and lists a small page, a busy one a full page.
   */
  minWindowSize?: number;
  random?: () => number;
  /** Distinct filters remembered at once. */
  maxEntries?: number;
}

/**
 * How many times its time to live a listing may still serve one claim while the next one is being
 * listed. A lost race drops the listing at once (`invalidate`), whatever its age.
 */
const STALE_WHILE_REFRESHING = 5;

const filterKey = (filter: ServerFilter) =>
  JSON.stringify([filter.region ?? '', filter.group ?? '', Object.entries(filter.labels ?? {}).sort()]);

/**
 * Claim candidates per filter, kept for a short time per function instance, so that a claim
 * attempt is usually a single conditional write on a recently listed server rather than a
 * query plus a write. Concurrent claimers in one instance never get the same candidate (a
 * candidate is handed out once and held back from later listings for a while); across
 * instances, random picks spread claimers over the pool. The listing may be stale: the claim's
 * condition expression decides, and a lost race just costs another attempt.
 */
export class CandidateCache {
  private readonly entries = new Map<string, Entry>();
  /** endpoint -> time until which it is held back (handed out to a claimer in this instance). */
  private readonly handedOut = new Map<string, number>();
  private readonly listSize: number;
  private readonly minWindowSize: number;
  private readonly random: () => number;
  private readonly maxEntries: number;
  private readonly holdMs: number;

  constructor(
    private readonly deps: Deps,
    private readonly options: CandidateCacheOptions,
  ) {
    this.listSize = options.listSize ?? 100;
    this.minWindowSize = Math.min(options.minWindowSize ?? 25, this.listSize);
    this.random = options.random ?? Math.random;
    this.maxEntries = options.maxEntries ?? 256;
    this.holdMs = Math.max(options.ttlMs * 2, 2000);
  }

  /**
   * Hands out `count` candidates matching the filter (on distinct nodes when asked), listing
   * afresh when the cached listing is old or cannot satisfy the request. Undefined: the pool
   * has no such set right now.
   */
  async take(filter: ServerFilter, count: number, distinctNodes: boolean): Promise<GameServerItem[] | undefined> {
    const key = filterKey(filter);
    const cached = this.entries.get(key);
    const age = cached ? this.deps.clock() - cached.fetchedAt : Number.POSITIVE_INFINITY;
    if (cached && !cached.refreshing && age <= this.options.ttlMs * STALE_WHILE_REFRESHING) {
      const picked = this.pick(cached, count, distinctNodes);
      if (picked) {
        // Past its time to live but still usable (the claim's condition decides anyway): this
        // claim goes ahead with it while the next window is listed beside its writes, instead of
        // waiting for that Query first.
        if (age > this.options.ttlMs) this.refresh(key, filter, 'one-shard').catch(() => undefined);
        return picked;
      }
    }
    // Nothing cached, or the cached listing cannot form the set: a fresh window. When it saw the
    // whole pool that decides; otherwise (a selective filter, a small pool spread over shards)
    // the walk over every shard does.
    const entry = await this.refresh(key, filter, 'one-shard');
    const picked = this.pick(entry, count, distinctNodes);
    if (picked || entry.wholePool) return picked;
    return this.pick(await this.refresh(key, filter, 'all-shards'), count, distinctNodes);
  }

  /**
   * After a lost race the listing is known to be stale (another instance claimed from it): the
   * next take lists afresh, so a claimer does not keep trying servers that are already gone.
   */
  invalidate(filter: ServerFilter): void {
    const entry = this.entries.get(filterKey(filter));
    if (entry) entry.fetchedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * Whether concurrent claims in this instance hold candidates right now: a set that cannot be
   * formed may then appear as soon as they finish (or give some back).
   */
  holdsBack(): boolean {
    const now = this.deps.clock();
    for (const until of this.handedOut.values()) if (until > now) return true;
    return false;
  }

  /** Returns candidates that were not taken after all (their partner in a group claim was). */
  giveBack(items: GameServerItem[]): void {
    for (const item of items) this.handedOut.delete(item.endpoint);
    const now = this.deps.clock();
    for (const entry of this.entries.values()) {
      if (now - entry.fetchedAt > this.options.ttlMs) continue;
      const known = new Set(entry.items.map((i) => i.endpoint));
      entry.items.push(...items.filter((i) => !known.has(i.endpoint)));
    }
  }

  private pick(entry: Entry, count: number, distinctNodes: boolean): GameServerItem[] | undefined {
    const now = this.deps.clock();
    const pool = entry.items.filter((item) => (this.handedOut.get(item.endpoint) ?? 0) <= now);
    const picked = pickCandidates(pool, count, distinctNodes, this.random);
    if (!picked) return undefined;
    const taken = new Set(picked.map((item) => item.endpoint));
    for (const endpoint of taken) this.handedOut.set(endpoint, now + this.holdMs);
    entry.items = entry.items.filter((item) => !taken.has(item.endpoint));
    entry.taken += picked.length;
    return picked;
  }

  /**
   * One listing per filter at a time: concurrent claimers wait for the same query.
   * `one-shard` reads a window of one random shard of the pool: it starts at a random pool
   * position (availability-keys.ts poolPosition) and wraps around to the start of the shard when
   * it reaches its end, so function instances hold different candidates instead of all racing for
   * the pool's first page, also when the pool has one shard (docs/SCALING.md). `all-shards` is the
   * listing route's walk over every shard (up to 10 pages each), for when one window cannot form
   * the set (a selective filter, a small pool).
   */
  private refresh(key: string, filter: ServerFilter, scope: 'one-shard' | 'all-shards'): Promise<Entry> {
    const current = this.entries.get(key);
    if (current?.refreshing) return current.refreshing;
    const shards = this.deps.config.availabilityShards;
    const listing =
      scope === 'one-shard'
        ? this.listWindow(filter, Math.floor(this.random() * shards), this.windowSize(current)).then(({ items, whole }) => ({ items, wholePool: whole && shards === 1 }))
        : listAvailableGameServers(this.deps, { ...filter, limit: this.listSize, distinctNodes: false }).then((items) => ({ items, wholePool: true }));
    const refreshing = listing.then(
      ({ items, wholePool }) => {
        const now = this.deps.clock();
        const entry: Entry = { items: items.filter((item) => (this.handedOut.get(item.endpoint) ?? 0) <= now), fetchedAt: now, wholePool, taken: 0 };
        this.entries.delete(key);
        this.entries.set(key, entry);
        this.evict(now);
        return entry;
      },
      (error) => {
        const stale = this.entries.get(key);
        if (stale) delete stale.refreshing;
        throw error;
      },
    );
    const placeholder: Entry = current ?? { items: [], fetchedAt: Number.NEGATIVE_INFINITY, wholePool: false, taken: 0 };
    placeholder.refreshing = refreshing;
    this.entries.set(key, placeholder);
    return refreshing;
  }

  /**
   * Up to a page of one shard's claimable servers from a random pool position on, wrapped around
   * to the shard's first positions when the range after it runs out. `whole`: the window saw
   * every claimable server of the shard.
   */
  private async listWindow(filter: ServerFilter, shard: number, size: number): Promise<{ items: GameServerItem[]; whole: boolean }> {
    const query = { ...filter, now: this.deps.clock(), shard, pageSize: size };
    const from = this.random();
    const after = await queryAvailablePage(this.deps, { ...query, window: { from } });
    if (after.lastEvaluatedKey || after.items.length >= size) return { items: after.items, whole: false };
    const before = await queryAvailablePage(this.deps, { ...query, pageSize: size - after.items.length, window: { before: from } });
    return { items: [...after.items, ...before.items], whole: before.lastEvaluatedKey === undefined };
  }

  /** Twice what the last window of this filter handed out, between minWindowSize and listSize. */
  private windowSize(last: Entry | undefined): number {
    return Math.min(this.listSize, Math.max(this.minWindowSize, 2 * (last?.taken ?? 0)));
  }

  private evict(now: number): void {
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    if (this.handedOut.size > 10_000) {
      for (const [endpoint, until] of this.handedOut) if (until <= now) this.handedOut.delete(endpoint);
    }
  }
}
