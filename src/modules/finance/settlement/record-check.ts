import { Counter, type Registry } from 'prom-client';
import { AppError, type FieldProblem } from '../../../shared/http/app-error';
import type { AudienceServiceClient, StoredRewardDto } from '../../audience/contract';
import type { SettlementRecord } from '../contract';

export type RefusalReason = 'unknown_reward' | 'mismatch';

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
  const problems = CHECKED.filter(([key]) => record[key] !== stored[key]).map(([, field]) => ({ field: at(field), message: 'differs from the stored reward' }));
  if (Date.parse(record.createdAt) !== Date.parse(stored.createdAt)) problems.push({ field: at('createdAt'), message: 'differs from the stored reward' });
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

  return {
    async assertStored(records: readonly SettlementRecord[]): Promise<void> {
      const stored = new Map((await deps.rewards.storedRewards([...new Set(records.map((r) => r.rechargeId))])).map((r) => [r.rechargeId, r]));
      const problems: FieldProblem[] = [];
      for (const [index, record] of records.entries()) {
        const found = problemsOf(record, index, stored.get(record.rechargeId));
        if (found.length === 0) continue;
        refused.inc({ reason: stored.has(record.rechargeId) ? 'mismatch' : 'unknown_reward' });
        problems.push(...found);
      }
      if (problems.length > 0) {
        throw new AppError('REWARD_MISMATCH', 409, 'Some records do not match the rewards as stored; nothing was settled.', { errors: problems });
      }
    },
  };
}

export type RecordCheck = ReturnType<typeof createRecordCheck>;
