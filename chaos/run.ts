/**
 * `npm run chaos -- --seed N --minutes M`: a seeded fault schedule against real processes. Two
 * service instances on databases and a Redis of the run's own take rewards (single, batch, replays)
 * from clients that retry until answered, while the schedule strikes one real fault at a time:
 * SIGKILL and restart of an instance, Redis frozen or restarted empty, DB1 or DB2 cut or frozen
 * behind a TCP proxy. Then every fault ends and the books are audited: each acknowledged reward
 * stored once, realtime per room = Σ rewards (within 20 s), everything settled exactly once, shares
 * adding up, balances = Σ shares. Prints a JSON report; exits 1 with the seed and the fault log when
 * an invariant fails, so `--seed` replays the same choices.
 */
import { parseArgs } from 'node:util';
import { audit, boardsSettle, realtimeSettles, settleEverything } from './audit';
import { planFaults, runFaults, type Fault } from './faults';
import { createStage, startLoad } from './load';
import { seededRandom } from './random';
import { createWorld } from './world';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      clients: { type: 'string', default: '12' },
      keep: { type: 'boolean', default: false },
    },
  });
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
  const totalMs = values.seconds !== undefined ? Number(values.seconds) * 1000 : Number(values.minutes ?? '1') * 60_000;
  if (!Number.isSafeInteger(seed) || !(totalMs > 0)) throw new Error('--seed must be an integer, --minutes or --seconds a positive number');
  const random = seededRandom(seed);
  const faults = planFaults(random, totalMs);
  process.stderr.write(`chaos: seed ${seed}, ${totalMs / 1000} s, ${faults.length} faults\n`);

  const world = await createWorld({ seed, mysqlUrl: process.env['CHAOS_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306', keep: values.keep });
  const struck: Fault[] = [];
  let ok = false;
  try {
    const stage = await createStage(world, random);
    let loadOver = false;
    const load = startLoad(world, stage, { clients: Number(values.clients), seed, until: () => loadOver, random: seededRandom });
    try {
      await runFaults(world, faults, (fault) => {
        struck.push(fault);
        const what =
          fault.kind === 'kill-instance'
            ? ` #${fault.instance}`
            : fault.kind === 'failpoint-kill'
              ? ` #${fault.instance} at ${fault.failpoint}`
              : '';
        process.stderr.write(`chaos: step ${fault.step} ${fault.kind}${what} for ${fault.durationMs} ms\n`);
      });
    } finally {
      loadOver = true;
      await load.done;
    }
    const pending = await settleEverything(world);
    const realtime = await realtimeSettles(world, stage);
    const boards = await boardsSettle(world, stage);
    const invariants = [
      {
        name: 'every room shows the reward table within 20 s of the last fault',
        ok: realtime.differences.length === 0,
        detail: { ms: realtime.ms, differences: realtime.differences },
      },
      {
        name: "every TOP10 board (each room's and the platform's, day and all time, on every instance) equals the reward rows within 60 s",
        ok: boards.differences.length === 0,
        detail: { ms: boards.ms, differences: boards.differences },
      },
      { name: 'nothing left pending after the final sync', ok: pending === 0, detail: { pending } },
      ...(await audit(world, load.acknowledged)),
    ];
    ok = invariants.every((i) => i.ok);
    const faultsByKind: Record<string, number> = {};
    for (const fault of struck) faultsByKind[fault.kind] = (faultsByKind[fault.kind] ?? 0) + 1;
    const report = {
      seed,
      seconds: totalMs / 1000,
      faults: struck.length,
      faultsByKind,
      failpoints: struck.filter((f) => f.kind === 'failpoint-kill').map((f) => ({ point: f.failpoint, struck: f.struck === true })),
      acknowledged: load.acknowledged.size,
      load: load.counts,
      realtimeExactAfterMs: realtime.ms,
      boardsExactAfterMs: boards.ms,
      invariants,
      ok,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (!ok) {
      process.stderr.write(`chaos: FAILED with seed ${seed}; replay with: npm run chaos -- --seed ${seed} --seconds ${totalMs / 1000}\n`);
      process.stderr.write(`chaos: the faults struck, in order: ${JSON.stringify(struck)}\n`);
    }
  } finally {
    await world.close();
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
