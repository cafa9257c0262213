import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';
import { setKeyCollation, type KeyColumn } from '../binary-keys';

const KEYS: readonly KeyColumn[] = [
  { table: 'recharge', column: 'trace_id', length: 64, nullable: false },
  { table: 'recharge', column: 'sync_batch_id', length: 64, nullable: true },
];

/** Reward trace ids (the idempotency key) and sync batch ids compare case-sensitively on MySQL too. */
export const caseSensitiveKeysDb1: Migration = {
  name: '003_case_sensitive_keys',
  up: (db: Knex) => setKeyCollation(db, KEYS, 'utf8mb4_bin'),
  down: (db: Knex) => setKeyCollation(db, KEYS, 'utf8mb4_unicode_ci'),
};
