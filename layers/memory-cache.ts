// A small in-process cache with a deadline per entry and a bound on its size: what an instance may answer from its
// memory for a moment instead of asking its database again. Losing it (a cold start, another instance) costs a query,
// never a wrong answer, so nothing that matters lives only here.
import { performance } from 'node:perf_hooks';

export class MemoryCache<V> {
  // A Map keeps insertion order: the first key is the one set longest ago, dropped first when the cache is full.
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly maxEntries: number) {}

  /** The value while its deadline has not passed. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > performance.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps `value` for `ms` (nothing for 0 or less), dropping the oldest entry once there are more than maxEntries. */
  set(key: string, value: V, ms: number): void {
    this.entries.delete(key);
    if (!(ms > 0)) return;
    this.entries.set(key, { value, until: performance.now() + ms });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
