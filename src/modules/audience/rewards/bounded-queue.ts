/**
 * A first-in first-out queue bounded in length and in waiting time: what waits for a database that
 * stops answering can neither pile up in memory nor wait for ever. One timer, armed for the oldest
 * entry, finds what has waited too long.
 */
export interface BoundedQueue<T> {
  readonly length: number;
  /** Adds at the end; false when full (the caller answers at once instead). */
  offer(item: T): boolean;
  /** Removes and returns up to `count` of the oldest. */
  take(count: number): T[];
  /** Removes and returns everything, for when waiting has become pointless. */
  drain(): T[];
}

export interface BoundedQueueOptions<T> {
  max: number;
  maxWaitMs: number;
  /** Gets the entries that waited `maxWaitMs`, already removed. */
  onExpired(items: T[]): void;
  /** Told the length after every change (a gauge for operators). */
  onLength?(length: number): void;
}

interface Entry<T> {
  item: T;
  deadline: number;
}

export function createBoundedQueue<T>(options: BoundedQueueOptions<T>): BoundedQueue<T> {
  const entries: Array<Entry<T>> = [];
  let expiryTimer: NodeJS.Timeout | null = null;

  function removeFirst(count: number): T[] {
    const removed = entries.splice(0, count).map((entry) => entry.item);
    if (removed.length > 0) options.onLength?.(entries.length);
    return removed;
  }

  function armExpiry(): void {
    const oldest = entries[0];
    if (expiryTimer || !oldest) return;
    expiryTimer = setTimeout(expire, Math.max(0, oldest.deadline - performance.now()));
    expiryTimer.unref();
  }

  function expire(): void {
    expiryTimer = null;
    const now = performance.now();
    let expired = 0;
    while (expired < entries.length && (entries[expired] as Entry<T>).deadline <= now) expired += 1;
    if (expired > 0) options.onExpired(removeFirst(expired));
    armExpiry();
  }

  return {
    get length() {
      return entries.length;
    },
    offer(item) {
      if (entries.length >= options.max) return false;
      entries.push({ item, deadline: performance.now() + options.maxWaitMs });
      options.onLength?.(entries.length);
      armExpiry();
      return true;
    },
    take: (count) => removeFirst(count),
    drain: () => removeFirst(entries.length),
  };
}
