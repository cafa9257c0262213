import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { SESSION_TOTALS_MAX_IDS, type SessionRewardTotalsDto } from '../contract';
import { sessionTotals } from './session-totals.repository';

/** Per live session, the count and sum of its reward rows (the anchor module's session totals). */
export function createSessionTotals(deps: { db: Db }) {
  return {
    async sessionRewardTotals(sessionIds: readonly number[]): Promise<SessionRewardTotalsDto[]> {
      if (sessionIds.length > SESSION_TOTALS_MAX_IDS)
        throw AppError.validation([{ field: 'sessionIds', message: `must hold at most ${SESSION_TOTALS_MAX_IDS} ids` }]);
      const found = new Map((await sessionTotals(deps.db, sessionIds)).map((row) => [Number(row.live_session_id), row]));
      return [...new Set(sessionIds)].map((liveSessionId) => {
        const row = found.get(liveSessionId);
        return { liveSessionId, count: Number(row?.n ?? 0), amountFen: Number(row?.s ?? 0) };
      });
    },
  };
}
