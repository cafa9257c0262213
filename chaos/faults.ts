import { FAILPOINT_NAMES, type FailpointName } from '../src/shared/failpoints';
import type { Random } from './random';
import type { World } from './world';

export type FaultKind =
  'kill-instance' | 'failpoint-kill' | 'redis-freeze' | 'redis-restart-empty' | 'db1-cut' | 'db1-freeze' | 'db2-cut' | 'db2-freeze';

export interface Fault {
  step: number;
  kind: FaultKind;
  /** Which instance, for kill-instance and failpoint-kill. */
  instance: number;
  /** For failpoint-kill: the point the instance is restarted armed to die at. */
  failpoint: FailpointName;
  /** How long the fault lasts before it ends (the instance restarts, the server thaws, the link returns). */
  durationMs: number;
  /** Quiet time after it ends, before the next one: faults come one at a time. */
  gapMs: number;
  /** For failpoint-kill, once struck: whether the instance did die at its point within the time given. */
  struck?: boolean;
}

const KINDS: readonly FaultKind[] = [
  'kill-instance',
  'failpoint-kill',
  'redis-freeze',
  'redis-restart-empty',
  'db1-cut',
  'db1-freeze',
  'db2-cut',
  'db2-freeze',
];

/** The seeded schedule: faults one after another until `totalMs` is filled. */
export function planFaults(random: Random, totalMs: number): Fault[] {
  const faults: Fault[] = [];
  for (let elapsed = 2000; elapsed < totalMs;) {
    const fault: Fault = {
      step: faults.length + 1,
      kind: random.pick(KINDS),
      instance: random.int(0, 1),
      failpoint: random.pick(FAILPOINT_NAMES),
      durationMs: random.int(300, 4000),
      gapMs: random.int(1500, 5000),
    };
    faults.push(fault);
    elapsed += fault.durationMs + fault.gapMs;
  }
  return faults;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Restarts the instance armed to SIGKILL itself at the fault's failpoint, gives it `durationMs`
 * (plus the few seconds every point needs to come round: the jobs run every 1-4 s) to reach it,
 * then starts it again unarmed — whether it died there or not.
 */
async function dieAtFailpoint(world: World, fault: Fault): Promise<void> {
  const instance = world.instances[fault.instance]!;
  await instance.kill();
  instance.setEnvironment({ FAILPOINTS: `${fault.failpoint}=kill` });
  const before = instance.struck.length;
  try {
    await instance.restart();
    const exit = await instance.exited(fault.durationMs + 5000).catch(() => null);
    fault.struck = exit?.signal === 'SIGKILL' && instance.struck.slice(before).some((s) => s.failpoint.startsWith(fault.failpoint));
    if (!exit) await instance.kill();
  } finally {
    instance.setEnvironment({ FAILPOINTS: undefined });
  }
  await instance.restart();
}

/** Strikes one fault, waits its duration, and ends it. */
export async function strike(world: World, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'kill-instance': {
      const instance = world.instances[fault.instance]!;
      await instance.kill();
      await sleep(fault.durationMs);
      await instance.restart();
      return;
    }
    case 'failpoint-kill':
      await dieAtFailpoint(world, fault);
      return;
    case 'redis-freeze':
      world.redis.freeze();
      await sleep(fault.durationMs);
      world.redis.thaw();
      return;
    case 'redis-restart-empty':
      await world.redis.kill();
      await sleep(fault.durationMs);
      await world.redis.restart();
      return;
    case 'db1-cut':
    case 'db2-cut': {
      const proxy = fault.kind === 'db1-cut' ? world.proxies.db1 : world.proxies.db2;
      await proxy.cut();
      await sleep(fault.durationMs);
      await proxy.restore();
      return;
    }
    case 'db1-freeze':
    case 'db2-freeze': {
      const proxy = fault.kind === 'db1-freeze' ? world.proxies.db1 : world.proxies.db2;
      proxy.freeze();
      await sleep(fault.durationMs);
      proxy.thaw();
      return;
    }
  }
}

/** Runs the schedule; `onStep` hears each fault as it strikes, so a failure can name the step. */
export async function runFaults(world: World, faults: readonly Fault[], onStep: (fault: Fault) => void): Promise<void> {
  await sleep(2000);
  for (const fault of faults) {
    onStep(fault);
    await strike(world, fault);
    await sleep(fault.gapMs);
  }
}
