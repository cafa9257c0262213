import { Counter, type Registry } from 'prom-client';
import { AppError, type FieldProblem } from '../../../shared/http/app-error';
import { chunks } from '../../../shared/chunks';
import { STORED_REWARDS_MAX_IDS, type AudienceServiceClient, type StoredRewardDto } from '../../audience/contract';
import type { SettlementRecord } from '../contract';

/** The record's fields that must equal the stored reward's, with the request field each is reported under. */
const CHECKED: ReadonlyArray<[keyof SettlementRecord & keyof StoredRewardDto, string]> = [
  ['traceId', 'traceId'],
  ['anchorId', 'anchorId'],
  ['liveRoomId', 'liveRoomId'],
  ['audienceId', 'audienceId'],
  ['amountFen', 'amount'],
];

function problemsOf(record: SettlementRecord, index: number, stored: StoredRewardDto | undefined): FieldProblem[] {
  const at = (field: string) => `records[${index}].${field}`;
  if (!stored) return [{ field: at('rechargeId'), message: 'names no stored reward' }];
  const problems = CHECKED.filter(([key]) => record[key] !== stored[key]).map(([, field]) => ({
    field: at(field),
    message: 'differs from the stored reward',
  }));
  if (Date.parse(record.createdAt) !== Date.parse(stored.createdAt))
    problems.push({ field: at('createdAt'), message: 'differs from the stored reward' });
  return problems;
}

/**
 * Finance settles only what the reward table holds: every record of a batch is checked against
 * the stored reward (one call to the audience module per batch), and a batch with any record that
 * names no reward, or differs from it, is refused whole — nothing settled, every refused record
 * counted — so no caller can credit money that was never paid, nor reserve a future reward's id.
 */
export function createRecordCheck(deps: { rewards: Pick<AudienceServiceClient, 'storedRewards'>; registry: Registry }) {
  const refused = new Counter({
    name: 'settlement_records_refused_total',
    help: 'Settlement records refused because they name no stored reward (unknown_reward) or differ from it (mismatch). Any is a bug or a forgery.',
    labelNames: ['reason'],
    registers: [deps.registry],
  });

  async function storedOf(rechargeIds: readonly number[]): Promise<Map<number, StoredRewardDto>> {
    const stored = new Map<number, StoredRewardDto>();
    for (const part of chunks([...new Set(rechargeIds)], STORED_REWARDS_MAX_IDS)) {
      for (const reward of await deps.rewards.storedRewards(part)) stored.set(reward.rechargeId, reward);
    }
    return stored;
  }

  return {
    /** The records (by reward id) that are not a reward as stored. */
    async notStored(records: readonly SettlementRecord[]): Promise<Set<number>> {
      const stored = await storedOf(records.map((r) => r.rechargeId));
      return new Set(records.filter((r, i) => problemsOf(r, i, stored.get(r.rechargeId)).length > 0).map((r) => r.rechargeId));
    },

    async assertStored(records: readonly SettlementRecord[]): Promise<void> {
      const stored = await storedOf(records.map((r) => r.rechargeId));
      const problems: FieldProblem[] = [];
      for (const [index, record] of records.entries()) {
        const found = problemsOf(record, index, stored.get(record.rechargeId));
        if (found.length === 0) continue;
        refused.inc({ reason: stored.has(record.rechargeId) ? 'mismatch' : 'unknown_reward' });
        problems.push(...found);
      }
      if (problems.length > 0) {
        throw new AppError('REWARD_MISMATCH', 409, 'Some records do not match the rewards as stored; nothing was settled.', {
          errors: problems,
        });
      }
    },
  };
}

export type RecordCheck = ReturnType<typeof createRecordCheck>;
