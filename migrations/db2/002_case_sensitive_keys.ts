import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';
import { setKeyCollation, type KeyColumn } from '../binary-keys';

const KEYS: readonly KeyColumn[] = [
  { table: 'settlement', column: 'batch_id', length: 64, nullable: false },
  { table: 'settlement_detail', column: 'trace_id', length: 64, nullable: false },
  { table: 'withdrawal', column: 'request_id', length: 64, nullable: false },
];

/** Sync batch ids, reward trace ids and withdrawal request ids compare case-sensitively on MySQL too. */
export const caseSensitiveKeysDb2: Migration = {
  name: '002_case_sensitive_keys',
  up: (db: Knex) => setKeyCollation(db, KEYS, 'utf8mb4_bin'),
  down: (db: Knex) => setKeyCollation(db, KEYS, 'utf8mb4_unicode_ci'),
};
