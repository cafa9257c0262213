import { chunks } from '../../../shared/chunks';
import type { ApplyRewardCommand } from '../contract';
import type { RealtimeStore, RedisView, RewardToApply } from './realtime.redis';

/** Rewards per script call at most: a room's larger group goes as several calls, keeping each call short. */
const REWARDS_PER_CALL = 500;

/** `fresh`: the reward was new to Redis (not a duplicate); `view`: the room right after the call. */
export interface GroupedApply {
  fresh: boolean;
  view: RedisView;
}

interface Waiting {
  command: ApplyRewardCommand;
  resolve(result: GroupedApply): void;
  reject(error: unknown): void;
}

/**
 * Rewards for one room that arrive in the same turn of the event loop (a committed group of
 * rewards notifies together) go to Redis as one script call instead of one each. Each caller gets
 * its own reward's flag and the view after the call; a failed call fails every reward in it.
 */
export function createApplyGrouping(
  applyToRoom: (store: RealtimeStore, liveRoomId: number, rewards: RewardToApply[]) => Promise<{ fresh: boolean[]; view: RedisView }>,
): (store: RealtimeStore, command: ApplyRewardCommand) => Promise<GroupedApply> {
  const waiting = new Map<number, Waiting[]>();
  let drainScheduled = false;

  function drainWaiting(store: RealtimeStore): void {
    drainScheduled = false;
    const groups = [...waiting];
    waiting.clear();
    for (const [liveRoomId, list] of groups) {
      for (const part of chunks(list, REWARDS_PER_CALL)) {
        applyToRoom(
          store,
          liveRoomId,
          part.map(({ command }) => ({ rechargeId: command.rechargeId, amountFen: command.amountFen, audienceId: command.audienceId })),
        ).then(
          ({ fresh, view }) => part.forEach((w, i) => w.resolve({ fresh: fresh[i] ?? false, view })),
          (error: unknown) => part.forEach((w) => w.reject(error)),
        );
      }
    }
  }

  return function applyTogether(store, command) {
    return new Promise((resolve, reject) => {
      const list = waiting.get(command.liveRoomId) ?? [];
      list.push({ command, resolve, reject });
      waiting.set(command.liveRoomId, list);
      if (!drainScheduled) {
        drainScheduled = true;
        setImmediate(() => drainWaiting(store));
      }
    });
  };
}
