import DataLoader from 'dataloader';
import { AppError, type FieldProblem } from '../../../shared/http/app-error';
import type { AudienceServiceClient, StoredRewardDto } from '../../audience/contract';
import { STORED_REWARDS_MAX_IDS } from '../../audience/contract';
import type { ApplyRewardCommand } from '../contract';

/** The command's fields that must equal the stored reward's, with the request field each is reported under. */
const CHECKED: ReadonlyArray<[keyof ApplyRewardCommand & keyof StoredRewardDto, string]> = [
  ['traceId', 'traceId'],
  ['liveRoomId', 'liveRoomId'],
  ['audienceId', 'audienceId'],
  ['amountFen', 'amount'],
];

export type RewardRefusal = 'unknown_reward' | 'mismatch';

/**
 * What the internal realtime endpoint counts must be a reward as stored: a caller cannot add money
 * to a room's figures, nor count a future rechargeId before its reward exists (which would make
 * the real one a "duplicate"). Rewards arriving in the same turn of the event loop are looked up
 * in one call to the audience module (DataLoader), so a burst costs one query, not one each.
 */
export function createRewardCheck(deps: {
  rewards: Pick<AudienceServiceClient, 'storedRewards'>;
  /** Which of these rewards the room has counted already (DB1's journal and floor). */
  countedAmong: (rewards: ReadonlyArray<{ rechargeId: number; liveRoomId: number }>) => Promise<Set<number>>;
  onRefused: (reason: RewardRefusal) => void;
}) {
  const stored = new DataLoader<number, StoredRewardDto | null>(
    async (ids) => {
      const found = new Map((await deps.rewards.storedRewards(ids)).map((r) => [r.rechargeId, r]));
      return ids.map((id) => found.get(id) ?? null);
    },
    { cache: false, maxBatchSize: STORED_REWARDS_MAX_IDS },
  );
  const counted = new DataLoader<{ rechargeId: number; liveRoomId: number }, boolean, number>(
    async (refs) => {
      const already = await deps.countedAmong(refs);
      return refs.map((r) => already.has(r.rechargeId));
    },
    { cache: false, maxBatchSize: STORED_REWARDS_MAX_IDS },
  );

  return {
    /**
     * True when the room counted the reward long enough ago that Redis no longer remembers it (a
     * replay over the internal endpoint): applying it again would show it twice until the next flush.
     */
    countedAlready: (command: ApplyRewardCommand): Promise<boolean> =>
      counted.load({ rechargeId: command.rechargeId, liveRoomId: command.liveRoomId }),

    async assertStored(command: ApplyRewardCommand): Promise<void> {
      const reward = await stored.load(command.rechargeId);
      const problems: FieldProblem[] = reward
        ? CHECKED.filter(([key]) => command[key] !== reward[key]).map(([, field]) => ({ field, message: 'differs from the stored reward' }))
        : [{ field: 'rechargeId', message: 'names no stored reward' }];
      if (problems.length === 0) return;
      deps.onRefused(reward ? 'mismatch' : 'unknown_reward');
      throw new AppError('REWARD_MISMATCH', 409, 'This is not a reward as stored; nothing was counted.', { errors: problems });
    },
  };
}

export type RewardCheck = ReturnType<typeof createRewardCheck>;
