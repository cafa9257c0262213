import { localMidnight } from '../../../shared/time-zone';
import type { AudienceServiceClient, RewardTotals } from '../../audience/contract';
import type { FinanceServiceClient } from '../../finance/contract';
import { sameTotals, view, ZERO, type TotalsView } from './totals';

/**
 * `match`: finance settled exactly what DB1 marks SYNCED. `in-flight`: finance holds more, but no
 * more than the rewards a sync has claimed (or quarantined) and not confirmed yet — normal while a
 * sync runs. `missing`: a reward DB1 marks SYNCED that finance does not hold. `extra`: finance holds
 * more than DB1 ever handed over. `amount-differs`: as many rewards, another sum.
 */
export type SyncDayVerdict = 'match' | 'in-flight' | 'missing' | 'extra' | 'amount-differs';

export interface SyncDayAnchor {
  anchorId: number;
  db1: { synced: TotalsView; inFlight: TotalsView; quarantined: TotalsView };
  db2: TotalsView;
  verdict: SyncDayVerdict;
}

export interface SyncDayComparison {
  date: string;
  timeZone: string;
  from: string;
  to: string;
  /** No anchor is `missing`, `extra` or `amount-differs`. */
  clean: boolean;
  total: { db1Synced: TotalsView; db2Settled: TotalsView };
  anchors: SyncDayAnchor[];
}

const add = (a: RewardTotals, b: RewardTotals): RewardTotals => ({ count: a.count + b.count, amountFen: a.amountFen + b.amountFen });

function verdictOf(synced: RewardTotals, unconfirmed: RewardTotals, settled: RewardTotals): SyncDayVerdict {
  if (sameTotals(synced, settled)) return 'match';
  if (settled.count < synced.count) return 'missing';
  if (settled.count > synced.count + unconfirmed.count) return 'extra';
  if (settled.count === synced.count) return 'amount-differs';
  // More than SYNCED, within what is in flight: the amounts must lie within it too.
  const most = add(synced, unconfirmed);
  return settled.amountFen >= synced.amountFen && settled.amountFen <= most.amountFen ? 'in-flight' : 'amount-differs';
}

/**
 * One calendar day (TIME_ZONE) of rewards, DB1 against DB2, per anchor: what the audience module
 * handed to finance (by sync state) next to what finance settled, both keyed by the reward's time.
 */
export function createSyncDayComparison(deps: {
  audience: Pick<AudienceServiceClient, 'syncTotalsByAnchorBetween'>;
  finance: Pick<FinanceServiceClient, 'settledBetween'>;
  timeZone: string;
}) {
  return async function compareSyncDay(date: string): Promise<SyncDayComparison> {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const from = localMidnight(year, month, day, deps.timeZone).toISOString();
    const to = localMidnight(year, month, day + 1, deps.timeZone).toISOString();
    const [db1, db2] = await Promise.all([deps.audience.syncTotalsByAnchorBetween(from, to), deps.finance.settledBetween(from, to)]);
    const handed = new Map(db1.map((a) => [a.anchorId, a]));
    const settled = new Map(db2.map((a) => [a.anchorId, { count: a.count, amountFen: a.amountFen }]));
    const anchorIds = [...new Set([...handed.keys(), ...settled.keys()])].sort((a, b) => a - b);
    const anchors = anchorIds.map((anchorId): SyncDayAnchor => {
      const d1 = handed.get(anchorId);
      const synced = d1?.synced ?? ZERO;
      const unconfirmed = add(d1?.inFlight ?? ZERO, d1?.quarantined ?? ZERO);
      const d2 = settled.get(anchorId) ?? ZERO;
      return {
        anchorId,
        db1: { synced: view(synced), inFlight: view(d1?.inFlight ?? ZERO), quarantined: view(d1?.quarantined ?? ZERO) },
        db2: view(d2),
        verdict: verdictOf(synced, unconfirmed, d2),
      };
    });
    const sum = (list: RewardTotals[]) => list.reduce(add, ZERO);
    return {
      date,
      timeZone: deps.timeZone,
      from,
      to,
      clean: anchors.every((a) => a.verdict === 'match' || a.verdict === 'in-flight'),
      total: { db1Synced: view(sum(db1.map((a) => a.synced))), db2Settled: view(sum([...settled.values()])) },
      anchors,
    };
  };
}
