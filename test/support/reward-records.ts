import { formatFen } from '../../src/shared/money';
import { createAnchor, createRoom, createViewer, newTraceId, type TestPlatform } from './platform';

/** An anchor with two rooms and two viewers, created through the API. */
export interface RecordStage {
  anchorId: number;
  roomId: number;
  otherRoomId: number;
  viewerIds: [number, number];
}

export async function recordStage(t: TestPlatform): Promise<RecordStage> {
  const anchorId = await createAnchor(t);
  const roomId = await createRoom(t, anchorId);
  const otherRoomId = await createRoom(t, anchorId, 'Second room');
  const viewerIds: [number, number] = [await createViewer(t, 'first'), await createViewer(t, 'second')];
  return { anchorId, roomId, otherRoomId, viewerIds };
}

export interface SeededReward {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  anchorId: number;
  fen: number;
  createdAt: string;
}

/**
 * Rewards stored straight into `recharge` at chosen instants (the API stamps the real time). They
 * are SYNCED, so no other test's finance sync picks them up. One INSERT each, in the given order,
 * so their ids ascend in that order.
 */
export async function seedRewards(
  t: TestPlatform,
  anchorId: number,
  rewards: Array<{ at: string; fen: number; audienceId: number; liveRoomId: number }>,
): Promise<SeededReward[]> {
  const seeded: SeededReward[] = [];
  for (const r of rewards) {
    const traceId = newTraceId('REC');
    const [id] = await t.db1('recharge').insert({
      trace_id: traceId,
      audience_id: r.audienceId,
      live_room_id: r.liveRoomId,
      anchor_id: anchorId,
      amount: r.fen,
      sync_status: 'SYNCED',
      created_at: r.at.replace('T', ' ').replace('Z', ''),
    });
    seeded.push({
      rechargeId: Number(id),
      traceId,
      audienceId: r.audienceId,
      liveRoomId: r.liveRoomId,
      anchorId,
      fen: r.fen,
      createdAt: r.at,
    });
  }
  return seeded;
}

/** A seeded reward as the record lists show it. */
export function asRecord(r: SeededReward) {
  return {
    rechargeId: r.rechargeId,
    traceId: r.traceId,
    audienceId: r.audienceId,
    liveRoomId: r.liveRoomId,
    amount: formatFen(r.fen),
    status: 'SUCCESS',
    createdAt: r.createdAt,
  };
}

/** Newest first, ties by the larger id: the lists' order. */
export function newestFirst(rewards: SeededReward[]): SeededReward[] {
  return [...rewards].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.rechargeId - a.rechargeId);
}
