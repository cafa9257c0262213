/**
 * One reward counted in a room, as its event log keeps it: the room's figures right after it. The
 * viewer's nickname and anonymity are looked up when the event is sent (viewer-profiles.ts), so the
 * reward path does not pay for them.
 */
export interface RoomEvent {
  /** Increasing per room: the room's reward count after this reward (never below the previous id + 1). */
  id: number;
  liveRoomId: number;
  rechargeId: number;
  audienceId: number;
  amountFen: number;
  totalEarningsFen: number;
  rechargeCount: number;
  /** When the room counted the reward (ms). */
  createdAtMs: number;
}

/** Events of several sources (the Redis log, this instance's own log) in id order, each id once. */
export function mergeById(...lists: ReadonlyArray<readonly RoomEvent[]>): RoomEvent[] {
  const byId = new Map<number, RoomEvent>();
  for (const list of lists) for (const event of list) if (!byId.has(event.id)) byId.set(event.id, event);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
