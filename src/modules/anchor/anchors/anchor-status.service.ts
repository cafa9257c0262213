import type { Db } from '../../../shared/db/knex';
import type { Clock } from '../../../shared/module';
import type { AnchorDto, AnchorStatus } from '../contract';
import { closeSession, lockRoomsOfAnchor } from '../live-rooms/live-rooms.repository';
import { findAnchorAnyState, setAnchorStatus } from './anchors.repository';
import { anchorDeleted, anchorNotFound, toAnchorDto } from './anchors.service';

/**
 * Disable, enable and (soft) delete an anchor (admin). The reward path reads the anchor's status
 * from DB1 on every room check (getRewardTargets has no cache), so the change refuses the next
 * reward on every instance at once: 403 ACCOUNT_DISABLED for a disabled or deleted anchor's rooms.
 *
 * Disabling ends the anchor's live sessions (its LIVE rooms go IDLE: a room that refuses every
 * reward should not be listed as live); enabling does not restart them. Deleting ends them too and
 * closes every room of the anchor for good. A deleted anchor cannot be enabled, disabled or edited
 * (409 INVALID_STATE); deleting it again is a 204 no-op.
 */
export function createAnchorStatusService(deps: { db: Db; clock: Clock; onRoomChanged?: (liveRoomId: number) => Promise<void> }) {
  const { db, clock } = deps;

  /** Ends the sessions of the anchor's LIVE rooms; when deleting, closes every room. Returns the rooms changed. */
  async function endRoomsOf(trx: Db, anchorId: number, target: AnchorStatus, now: Date): Promise<number[]> {
    const changed: number[] = [];
    for (const room of await lockRoomsOfAnchor(trx, anchorId)) {
      const close = target === 'DELETED' && room.status !== 'CLOSED';
      if (!close && room.status !== 'LIVE') continue;
      await closeSession(trx, { liveRoomId: room.id, sessionId: room.current_session_id, now, roomStatus: close ? 'CLOSED' : 'IDLE' });
      changed.push(room.id);
    }
    return changed;
  }

  async function changeStatus(anchorId: number, target: AnchorStatus): Promise<AnchorDto> {
    const { anchor, rooms } = await db.transaction(async (trx) => {
      const row = await findAnchorAnyState(trx, anchorId, { forUpdate: true });
      if (!row) throw anchorNotFound(anchorId);
      if (row.status === 'DELETED' && target !== 'DELETED') throw anchorDeleted(anchorId);
      if (row.status === target) return { anchor: row, rooms: [] };
      const now = clock();
      await setAnchorStatus(trx, { id: anchorId, status: target, now });
      const changedRooms = target === 'ACTIVE' ? [] : await endRoomsOf(trx, anchorId, target, now);
      const updated = await findAnchorAnyState(trx, anchorId);
      if (!updated) throw anchorNotFound(anchorId);
      return { anchor: updated, rooms: changedRooms };
    });
    // After commit: the rooms' cached realtime copies carry their old status.
    for (const id of rooms) await deps.onRoomChanged?.(id);
    return toAnchorDto(anchor);
  }

  return {
    disableAnchor: (anchorId: number) => changeStatus(anchorId, 'DISABLED'),
    enableAnchor: (anchorId: number) => changeStatus(anchorId, 'ACTIVE'),
    async deleteAnchor(anchorId: number): Promise<void> {
      await changeStatus(anchorId, 'DELETED');
    },
  };
}

export type AnchorStatusService = ReturnType<typeof createAnchorStatusService>;
