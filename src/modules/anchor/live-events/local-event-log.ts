import type { RoomEvent } from './room-event';

/**
 * This instance's own log of room events: the events of rewards counted straight into DB1 (no
 * Redis configured, or Redis not answering), which reach no Redis log. Bounded twice: the last
 * `kept` events of a room, and the `maxRooms` rooms that had one most recently.
 */
export function createLocalEventLog(settings: { kept: number; maxRooms: number }) {
  /** Insertion order = recency: a room is moved to the end on each event, the first one is dropped. */
  const rooms = new Map<number, RoomEvent[]>();

  return {
    append(event: RoomEvent): void {
      const events = rooms.get(event.liveRoomId) ?? [];
      rooms.delete(event.liveRoomId);
      events.push(event);
      if (events.length > settings.kept) events.splice(0, events.length - settings.kept);
      rooms.set(event.liveRoomId, events);
      if (rooms.size > settings.maxRooms) rooms.delete(rooms.keys().next().value as number);
    },
    /** The room's kept events with id > afterId, in order. */
    after(liveRoomId: number, afterId: number): RoomEvent[] {
      return (rooms.get(liveRoomId) ?? []).filter((e) => e.id > afterId);
    },
    /** The room's last event id here, 0 when none. */
    lastId(liveRoomId: number): number {
      return rooms.get(liveRoomId)?.at(-1)?.id ?? 0;
    },
  };
}

export type LocalEventLog = ReturnType<typeof createLocalEventLog>;
