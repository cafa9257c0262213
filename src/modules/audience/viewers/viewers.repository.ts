import type { Db } from '../../../shared/db/knex';
import { insertedId } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { AudienceStatus } from '../contract';

export interface AudienceRow {
  id: number;
  nickname: string;
  status: AudienceStatus;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'nickname', 'status', 'created_at', 'updated_at'] as const;

export async function insertAudience(db: Db, args: { nickname: string; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  return insertedId(await db('audience').insert({ nickname: args.nickname, status: 'ACTIVE', created_at: at, updated_at: at }));
}

export async function findAudience(db: Db, id: number): Promise<AudienceRow | undefined> {
  return db<AudienceRow>('audience')
    .select(...COLUMNS)
    .where({ id })
    .first();
}

export interface ConsumptionRow {
  id: number;
  total_amount: number;
  reward_count: number;
  last_reward_at: string | null;
}

export async function findConsumption(db: Db, id: number): Promise<ConsumptionRow | undefined> {
  return db<ConsumptionRow>('audience').select('id', 'total_amount', 'reward_count', 'last_reward_at').where({ id }).first();
}
