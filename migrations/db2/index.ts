import type { Migration } from '../../src/shared/db/migrate';
import { initialDb2 } from './001_initial';

/** DB2 migrations in the order they apply. */
export const db2Migrations: readonly Migration[] = [initialDb2];
