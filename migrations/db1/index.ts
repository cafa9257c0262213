import type { Migration } from '../../src/shared/db/migrate';
import { initialDb1 } from './001_initial';
import { realtimeJournal } from './002_realtime_journal';
import { caseSensitiveKeysDb1 } from './003_case_sensitive_keys';
import { journalFloor } from './004_journal_floor';
import { realtimeHeal } from './005_realtime_heal';
import { syncQuarantine } from './006_sync_quarantine';
import { viewerAnonymous } from './007_viewer_anonymous';
import { viewerLists } from './008_viewer_lists';
import { liveRoomManagement } from './009_live_room_management';
import { top10ConsumptionIndex } from './011_top10_consumption_index';
import { rewardAggregateIndexes } from './013_reward_aggregate_indexes';
import { refunds } from './014_refunds';
import { timeViewerIndex } from './015_time_viewer_index';

/** DB1 migrations in the order they apply. */
export const db1Migrations: readonly Migration[] = [
  initialDb1,
  realtimeJournal,
  caseSensitiveKeysDb1,
  journalFloor,
  realtimeHeal,
  syncQuarantine,
  viewerAnonymous,
  viewerLists,
  liveRoomManagement,
  top10ConsumptionIndex,
  rewardAggregateIndexes,
  refunds,
  timeViewerIndex,
];
