import type { Db } from '../../../shared/db/knex';
import { insertedId } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { AnchorStatus } from '../contract';

export interface AnchorRow {
  id: number;
  name: string;
  avatar_url: string | null;
  status: AnchorStatus;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'name', 'avatar_url', 'status', 'created_at', 'updated_at'] as const;

export async function insertAnchor(db: Db, args: { name: string; avatarUrl: string | null; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  const result = await db('anchor').insert({
    name: args.name,
    avatar_url: args.avatarUrl,
    status: 'ACTIVE',
    created_at: at,
    updated_at: at,
  });
  return insertedId(result);
}

export async function findAnchor(db: Db, id: number): Promise<AnchorRow | undefined> {
  return db<AnchorRow>('anchor')
    .select(...COLUMNS)
    .where({ id })
    .whereNull('deleted_at')
    .first();
}
