import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { Clock } from '../../../shared/module';
import { findAnchor } from '../anchors/anchors.repository';
import { anchorNotFound } from '../anchors/anchors.service';
import type { AnchorStatus, LiveRoomDto, RewardTargetDto } from '../contract';
import {
  closeSession,
  findLiveRoom,
  findRewardTargets,
  insertLiveRoom,
  openSession,
  updateLiveRoomDetails,
  type LiveRoomRow,
} from './live-rooms.repository';

export function toLiveRoomDto(row: LiveRoomRow): LiveRoomDto {
  return {
    liveRoomId: row.id,
    anchorId: row.anchor_id,
    title: row.title,
    category: row.category,
    coverUrl: row.cover_url,
    status: row.status,
    currentSessionId: row.current_session_id,
    createdAt: isoFromDb(row.created_at),
    updatedAt: isoFromDb(row.updated_at),
  };
}

export function liveRoomNotFound(id: number): AppError {
  return AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${id}.`);
}

function accountDisabled(): AppError {
  return new AppError('ACCOUNT_DISABLED', 403, 'The anchor account is disabled.');
}

export interface LiveRoomsServiceDeps {
  db: Db;
  clock: Clock;
  /** Called after a committed state change (start/stop), e.g. to drop cached realtime copies. */
  onRoomChanged?: (liveRoomId: number) => Promise<void>;
}

export function createLiveRoomsService(deps: LiveRoomsServiceDeps) {
  const { db, clock } = deps;
  const roomChanged = async (id: number) => {
    await deps.onRoomChanged?.(id);
  };

  async function reload(trxOrDb: Db, id: number): Promise<LiveRoomDto> {
    const row = await findLiveRoom(trxOrDb, id);
    if (!row) throw liveRoomNotFound(id);
    return toLiveRoomDto(row);
  }

  /** Runs a state change of one room, then tells `onRoomChanged` once it committed. */
  async function changeRoom(id: number, change: (trx: Db) => Promise<LiveRoomDto>): Promise<LiveRoomDto> {
    const dto = await db.transaction(change);
    await roomChanged(id);
    return dto;
  }

  /** Loads the room for a state change and checks the caller owns it (or is admin). */
  async function lockOwnedRoom(trx: Db, principal: Principal | null, id: number): Promise<LiveRoomRow> {
    const room = await findLiveRoom(trx, id, { forUpdate: true });
    if (!room) throw liveRoomNotFound(id);
    assertMayActFor(principal, { anchorId: room.anchor_id });
    return room;
  }

  return {
    async createLiveRoom(
      principal: Principal | null,
      input: { anchorId: number; title: string; category?: string | undefined },
    ): Promise<LiveRoomDto> {
      assertMayActFor(principal, { anchorId: input.anchorId });
      return db.transaction(async (trx) => {
        const anchor = await findAnchor(trx, input.anchorId);
        if (!anchor) throw anchorNotFound(input.anchorId);
        if (anchor.status !== 'ACTIVE') throw accountDisabled();
        const id = await insertLiveRoom(trx, { anchorId: anchor.id, title: input.title, category: input.category ?? null, now: clock() });
        return reload(trx, id);
      });
    },

    async getLiveRoom(id: number): Promise<LiveRoomDto | null> {
      const row = await findLiveRoom(db, id);
      return row ? toLiveRoomDto(row) : null;
    },

    async requireLiveRoom(id: number): Promise<LiveRoomDto> {
      return reload(db, id);
    },

    /** IDLE -> LIVE, opening a live session. Starting a LIVE room is a no-op; a CLOSED one is 409. */
    async startLiveRoom(principal: Principal | null, id: number): Promise<LiveRoomDto> {
      return db
        .transaction(async (trx) => {
          const room = await lockOwnedRoom(trx, principal, id);
          if (room.status === 'LIVE') return toLiveRoomDto(room);
          if (room.status === 'CLOSED') throw AppError.conflict('INVALID_STATE', 'A closed live room cannot go live again.');
          const anchor = await findAnchor(trx, room.anchor_id);
          if (!anchor || anchor.status !== 'ACTIVE') throw accountDisabled();
          await openSession(trx, { liveRoomId: id, anchorId: room.anchor_id, now: clock() });
          return reload(trx, id);
        })
        .then(async (dto) => {
          await roomChanged(id);
          return dto;
        });
    },

    /** LIVE -> IDLE, ending the current session. Stopping an IDLE room is a no-op; a CLOSED one is 409. */
    async stopLiveRoom(principal: Principal | null, id: number): Promise<LiveRoomDto> {
      return db
        .transaction(async (trx) => {
          const room = await lockOwnedRoom(trx, principal, id);
          if (room.status === 'IDLE') return toLiveRoomDto(room);
          if (room.status === 'CLOSED') throw AppError.conflict('INVALID_STATE', 'The live room is closed.');
          await closeSession(trx, { liveRoomId: id, sessionId: room.current_session_id, now: clock() });
          return reload(trx, id);
        })
        .then(async (dto) => {
          await roomChanged(id);
          return dto;
        });
    },

    /** Title, category, cover (owner or admin); a CLOSED room no longer changes (409 INVALID_STATE). */
    async updateLiveRoom(
      principal: Principal | null,
      id: number,
      patch: { title?: string | undefined; category?: string | null | undefined; coverUrl?: string | null | undefined },
    ): Promise<LiveRoomDto> {
      return db.transaction(async (trx) => {
        const room = await lockOwnedRoom(trx, principal, id);
        if (room.status === 'CLOSED') throw AppError.conflict('INVALID_STATE', 'The live room is closed.');
        await updateLiveRoomDetails(trx, { id, ...patch, now: clock() });
        return reload(trx, id);
      });
    },

    /**
     * Closes the room for good (owner or admin): a LIVE room's session ends first. Closing a CLOSED
     * room is a 200 no-op. A closed room refuses rewards (409 LIVE_ROOM_NOT_LIVE) and cannot start again.
     */
    async closeLiveRoom(principal: Principal | null, id: number): Promise<LiveRoomDto> {
      return changeRoom(id, async (trx) => {
        const room = await lockOwnedRoom(trx, principal, id);
        if (room.status === 'CLOSED') return toLiveRoomDto(room);
        await closeSession(trx, { liveRoomId: id, sessionId: room.current_session_id, now: clock(), roomStatus: 'CLOSED' });
        return reload(trx, id);
      });
    },

    async getRewardTargets(ids: readonly number[]): Promise<RewardTargetDto[]> {
      return (await findRewardTargets(db, ids)).map((row) => ({
        liveRoomId: row.id,
        anchorId: row.anchor_id,
        status: row.status,
        anchorStatus: row.anchor_status as AnchorStatus,
        currentSessionId: row.current_session_id,
      }));
    },
  };
}

export type LiveRoomsService = ReturnType<typeof createLiveRoomsService>;
