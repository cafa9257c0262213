/**
 * `npx tsx bench/failpoint-cost.ts`: what an unarmed failpoint costs where the code awaits it.
 * Three loops of the same length — nothing, the bare call, and `await failpoint(name)` as the code
 * writes it — each timed several times; prints nanoseconds per iteration (medians) as JSON.
 */
import { performance } from 'node:perf_hooks';
import { failpoint } from '../src/shared/failpoints';

const N = Number(process.env['FAILPOINT_BENCH_N'] ?? 5_000_000);
const ROUNDS = 9;

async function nothing(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < N; i += 1) sum += i;
  return Promise.resolve(sum);
}

async function call(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < N; i += 1) {
    void failpoint('reward.beforeCommit');
    sum += i;
  }
  return Promise.resolve(sum);
}

/** The extra turn of the microtask queue any `await` costs, failpoint or not. */
async function awaitOnly(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < N; i += 1) {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- the bare await is what is measured
    await undefined;
    sum += i;
  }
  return sum;
}

async function awaited(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < N; i += 1) {
    await failpoint('reward.beforeCommit');
    sum += i;
  }
  return sum;
}

async function median(run: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const start = performance.now();
    await run();
    times.push(((performance.now() - start) * 1e6) / N);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(ROUNDS / 2)]!.toFixed(2));
}

async function main(): Promise<void> {
  const results = {
    iterations: N,
    nsPerIteration: {
      nothing: await median(nothing),
      call: await median(call),
      awaitUndefined: await median(awaitOnly),
      awaitFailpoint: await median(awaited),
    },
  };
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
