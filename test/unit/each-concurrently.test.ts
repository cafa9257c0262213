import { describe, expect, it } from '@jest/globals';
import { eachConcurrently } from '../../src/shared/chunks';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('eachConcurrently', () => {
  it('when there are more items than lanes, then every item runs once and never more than the bound at a time', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachConcurrently([...Array(25).keys()], 4, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await tick();
      await tick();
      done.push(item);
      running -= 1;
    });
    expect(done.sort((a, b) => a - b)).toEqual([...Array(25).keys()]);
    expect(most).toBe(4);
  });

  it('when an item fails, then the others still run and the first failure is thrown after them', async () => {
    const done: number[] = [];
    await expect(
      eachConcurrently([1, 2, 3, 4, 5], 2, async (item) => {
        await tick();
        if (item === 2 || item === 4) throw new Error(`item ${item}`);
        done.push(item);
      }),
    ).rejects.toThrow('item 2');
    expect(done.sort()).toEqual([1, 3, 5]);
  });

  it('when there is nothing to do, then it returns at once', async () => {
    await expect(eachConcurrently([], 8, () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
