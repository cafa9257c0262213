import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger';
import { defineLuaCommand, readLuaScript } from '../lua-script';
import type { RedisHandle } from '../redis';

/**
 * How long a claimed tick is remembered: far beyond the clock skew between instances and the 1 s
 * node-cron still fires a late tick within, so no instance can claim a tick another one ran.
 */
const TICK_MEMORY_MS = 60_000;

/** A job's run lease held by this instance; renewed in the background until released. */
export interface RunLease {
  /** Stops renewing and gives the lease back if it is still this run's. Never throws. */
  release(): Promise<void>;
}

/**
 * What claiming a tick found: `claimed` (run it; the lease is held for the run), `taken` (another
 * instance claimed this tick), `busy` (the job still runs on another instance: nobody runs this
 * tick), `unavailable` (Redis is configured but did not answer), `no-redis` (none is configured).
 */
export type TickClaim =
  | { outcome: 'claimed'; lease: RunLease }
  | { outcome: 'taken' }
  | { outcome: 'busy' }
  | { outcome: 'unavailable'; error: unknown }
  | { outcome: 'no-redis' };

export interface RunLeases {
  claim(job: string, slot: Date): Promise<TickClaim>;
}

/**
 * The scheduler's coordination in Redis, two keys per job (one hash tag, so one script may touch
 * both): a marker per tick, so each tick runs on one instance, and a run lease, held for as long as
 * the run lasts (renewed every third of `leaseMs`), so a run that outlives its tick never overlaps
 * another instance's. A holder that dies stops renewing: its lease expires within `leaseMs` and the
 * next tick after that runs elsewhere (lua/claim-tick.lua, renew-run.lua, release-run.lua).
 */
export function createRunLeases(deps: { redis: RedisHandle; leaseMs: number; logger: Logger }): RunLeases {
  const { redis, leaseMs } = deps;
  const client = redis.client;
  if (!client) return { claim: () => Promise.resolve({ outcome: 'no-redis' }) };
  const log = deps.logger.child({ component: 'scheduler' });
  const script = (name: string, file: string, keys: number) =>
    defineLuaCommand(client, name, keys, readLuaScript(join(__dirname, 'lua'), file));
  const claimTick = script('schedulerClaimTick', 'claim-tick.lua', 2);
  const renewRun = script('schedulerRenewRun', 'renew-run.lua', 1);
  const releaseRun = script('schedulerReleaseRun', 'release-run.lua', 1);
  const owner = `${hostname()}:${process.pid}`;
  let runs = 0;

  const runKey = (job: string) => `cron:run:{${job}}`;
  const tickKey = (job: string, slot: Date) => `cron:tick:{${job}}:${slot.toISOString()}`;

  function hold(job: string, token: string): RunLease {
    let held = true;
    const renewal = setInterval(
      () => {
        // A renewal that fails is tried again a third of the lease later: the lease outlasts two failures.
        renewRun(runKey(job), token, leaseMs).then(
          (renewed) => {
            if (Number(renewed) === 1 || !held) return;
            held = false;
            clearInterval(renewal);
            log.warn({ job }, 'run lease expired while the job still runs here: another instance may start it');
          },
          () => undefined,
        );
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    return {
      async release() {
        held = false;
        clearInterval(renewal);
        await releaseRun(runKey(job), token).catch(() => undefined);
      },
    };
  }

  return {
    async claim(job, slot) {
      if (!redis.isUsable()) return { outcome: 'unavailable', error: new Error('redis is not connected') };
      runs += 1;
      const token = `${owner}:${runs}`;
      try {
        const reply = Number(await claimTick(runKey(job), tickKey(job, slot), token, leaseMs, TICK_MEMORY_MS));
        if (reply === 1) return { outcome: 'claimed', lease: hold(job, token) };
        return { outcome: reply === 0 ? 'taken' : 'busy' };
      } catch (error) {
        // A frozen Redis still runs the claim when it thaws, and would hold the lease for a run that
        // never happens; this release, sent behind it on the same connection, gives it back then.
        releaseRun(runKey(job), token).catch(() => undefined);
        return { outcome: 'unavailable', error };
      }
    },
  };
}
