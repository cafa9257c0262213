import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createBoundedQueue } from '../../src/modules/audience/rewards/bounded-queue';

// Fake timers fake performance.now() too: the waiting times are exact, whatever the machine's load.
beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});
const sleep = (ms: number) => jest.advanceTimersByTime(ms);

function queueOf(max: number, maxWaitMs = 60_000) {
  const expired: number[][] = [];
  const lengths: number[] = [];
  const queue = createBoundedQueue<number>({
    max,
    maxWaitMs,
    onExpired: (items) => expired.push(items),
    onLength: (length) => lengths.push(length),
  });
  return { queue, expired, lengths };
}

describe('bounded queue', () => {
  it('when full, then an offer is refused and nothing already queued is lost', () => {
    const { queue, lengths } = queueOf(3);

    expect([1, 2, 3, 4].map((n) => queue.offer(n))).toEqual([true, true, true, false]);
    expect(queue.length).toBe(3);
    expect(queue.take(2)).toEqual([1, 2]);
    expect(queue.offer(5)).toBe(true);
    expect(queue.drain()).toEqual([3, 5]);
    expect(lengths).toEqual([1, 2, 3, 1, 2, 0]);
  });

  it('when entries wait longer than allowed, then they are handed over oldest first, and the younger ones stay', () => {
    const { queue, expired } = queueOf(10, 40);
    queue.offer(1);
    queue.offer(2);
    sleep(25);
    queue.offer(3);

    sleep(30);
    expect(expired).toEqual([[1, 2]]);
    expect(queue.length).toBe(1);
    sleep(40);
    expect(expired).toEqual([[1, 2], [3]]);
    expect(queue.length).toBe(0);
  });

  it('when entries are taken before their time, then nothing expires', () => {
    const { queue, expired } = queueOf(10, 20);
    queue.offer(1);
    expect(queue.take(5)).toEqual([1]);

    sleep(40);
    expect(expired).toEqual([]);
  });
});
