import { fromDbTime, isoFromDb } from '../../../shared/db/time';
import type { RealtimeViewDto } from '../contract';
import type { RealtimeRow } from './realtime.repository';
import type { RedisView } from './realtime.redis';

/** A room's flushed figures (DB1's row, or Redis's cached copy of it) with what a read shows of the room. */
export interface Base {
  earnings: number;
  count: number;
  flushId: number;
  anchorId: number;
  status: string;
  updatedAtMs: number;
}

export function baseOfRow(row: RealtimeRow): Base {
  return {
    earnings: row.total_earnings,
    count: row.recharge_count,
    flushId: row.last_flush_id,
    anchorId: row.anchor_id,
    status: row.status,
    updatedAtMs: fromDbTime(row.updated_at).getTime(),
  };
}

/** DB1 figures + the pending delta + a flushing delta DB1 does not hold yet. */
export function combine(base: Base, view: RedisView): { earnings: number; count: number; updatedAtMs: number } {
  const flushing = view.flushing && view.flushing.id > base.flushId ? view.flushing : null;
  return {
    earnings: base.earnings + view.pendingEarnings + (flushing?.earnings ?? 0),
    count: base.count + view.pendingCount + (flushing?.count ?? 0),
    updatedAtMs: Math.max(base.updatedAtMs, view.lastRewardAtMs ?? 0),
  };
}

/** A read's answer when Redis was read: the base and what Redis holds beyond it. */
export function viewFromRedis(liveRoomId: number, base: Base, view: RedisView): RealtimeViewDto {
  const figures = combine(base, view);
  return {
    liveRoomId,
    anchorId: base.anchorId,
    status: base.status as RealtimeViewDto['status'],
    totalEarningsFen: figures.earnings,
    rechargeCount: figures.count,
    updatedAt: new Date(figures.updatedAtMs).toISOString(),
    source: 'redis',
  };
}

/** A read's answer from DB1 alone (Redis unusable): the flushed figures. */
export function viewFromRow(row: RealtimeRow): RealtimeViewDto {
  return {
    liveRoomId: row.live_room_id,
    anchorId: row.anchor_id,
    status: row.status,
    totalEarningsFen: row.total_earnings,
    rechargeCount: row.recharge_count,
    updatedAt: isoFromDb(row.updated_at),
    source: 'db',
  };
}
