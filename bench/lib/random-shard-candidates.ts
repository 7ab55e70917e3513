import type { Deps } from '../../lib/deps';
import { CandidateCache } from '../../lib/game-servers/candidates';
import { queryAvailablePage } from '../../lib/game-servers/availability-query';
import { pickCandidates, type ServerFilter } from '../../lib/game-servers/select';
import type { GameServerItem } from '../../schemas/items';

interface Listing {
  items: GameServerItem[];
  fetchedAt: number;
}

/** The page the bench lists per refresh with this source (bench/shard-sim models the same page). */
export const RANDOM_SHARD_PAGE_SIZE = 50;

/**
 * An alternative candidate source, measured beside the shipped CandidateCache; not used by any
 * function. Each refresh queries one page of one random shard of the pool, and a lost race lists
 * afresh from another random shard; unlike CandidateCache it holds nothing back and never falls
 * back to the whole pool. docs/SCALING.md explains why one shard per refresh (instances x shared
 * candidates = lost races) and bench/shard-sim.ts models it at AWS scale.
 */
export class RandomShardCandidates extends CandidateCache {
  private readonly listings = new Map<string, Listing>();

  constructor(
    private readonly source: Deps,
    private readonly settings: { ttlMs: number; pageSize: number; random?: () => number },
  ) {
    super(source, { ttlMs: settings.ttlMs });
  }

  override async take(filter: ServerFilter, count: number, distinctNodes: boolean): Promise<GameServerItem[] | undefined> {
    const key = JSON.stringify(filter);
    let listing = this.listings.get(key);
    const random = this.settings.random ?? Math.random;
    if (!listing || this.source.clock() - listing.fetchedAt > this.settings.ttlMs) listing = await this.listOneShard(key, filter);
    let picked = pickCandidates(listing.items, count, distinctNodes, random);
    if (!picked) {
      listing = await this.listOneShard(key, filter);
      picked = pickCandidates(listing.items, count, distinctNodes, random);
    }
    if (picked) {
      const taken = new Set(picked.map((item) => item.endpoint));
      listing.items = listing.items.filter((item) => !taken.has(item.endpoint));
    }
    return picked;
  }

  override invalidate(filter: ServerFilter): void {
    this.listings.delete(JSON.stringify(filter));
  }

  override giveBack(items: GameServerItem[]): void {
    for (const listing of this.listings.values()) listing.items.push(...items);
  }

  private async listOneShard(key: string, filter: ServerFilter): Promise<Listing> {
    const random = this.settings.random ?? Math.random;
    const shard = Math.floor(random() * this.source.config.availabilityShards);
    const page = await queryAvailablePage(this.source, { ...filter, now: this.source.clock(), shard, pageSize: this.settings.pageSize });
    const listing = { items: page.items, fetchedAt: this.source.clock() };
    this.listings.set(key, listing);
    return listing;
  }
}
