/**
 * One shard of the availability index under random pool positions: its entries in the order of
 * their sort key, a pool position in [0, 1). [0, 1) is split into equal buckets, each kept sorted,
 * so an insert and a range walk touch only a few small arrays.
 */
export class PositionIndex<E extends { availableAt: number }> {
  private readonly buckets: E[][];

  constructor(expectedEntries: number) {
    this.buckets = Array.from({ length: Math.max(1, Math.ceil(expectedEntries / 16)) }, () => []);
  }

  private bucketOf(position: number): number {
    return Math.min(this.buckets.length - 1, Math.floor(position * this.buckets.length));
  }

  insert(entry: E): void {
    const bucket = this.buckets[this.bucketOf(entry.availableAt)]!;
    let i = bucket.length;
    while (i > 0 && bucket[i - 1]!.availableAt > entry.availableAt) i--;
    bucket.splice(i, 0, entry);
  }

  /**
   * What a Query of the positions in [from, to) with Limit `limit` returns: the first `limit`
   * entries in position order that `classify` calls 'listed' ('hidden': not in the index yet;
   * 'gone': not in the index any more, dropped here for good).
   */
  range(from: number, to: number, limit: number, classify: (entry: E) => 'listed' | 'hidden' | 'gone'): E[] {
    const found: E[] = [];
    if (limit <= 0 || from >= to) return found;
    for (let b = this.bucketOf(from); b < this.buckets.length && found.length < limit; b++) {
      const bucket = this.buckets[b]!;
      for (let i = 0; i < bucket.length && found.length < limit; i++) {
        const entry = bucket[i]!;
        if (entry.availableAt < from) continue;
        if (entry.availableAt >= to) return found;
        const kind = classify(entry);
        if (kind === 'gone') bucket.splice(i--, 1);
        else if (kind === 'listed') found.push(entry);
      }
    }
    return found;
  }
}
