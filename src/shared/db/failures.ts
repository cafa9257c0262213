/**
 * Classifies database driver errors. Connection-level failures become 503s; lock conflicts
 * are worth retrying. Codes are mysql2's and better-sqlite3's.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_BAD_DB_ERROR',
  'ER_NO_SUCH_TABLE',
  'ER_ACCESS_DENIED_ERROR',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
]);

const RETRYABLE_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_CHECKREAD', 'SQLITE_BUSY']);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as Error).name === 'KnexTimeoutError') return true;
  const code = codeOf(error);
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) return true;
  if ((error as { fatal?: unknown }).fatal === true) return true;
  const message = (error as Error).message ?? '';
  return /connection is in closed state|Can't add new command when connection is in closed state|Pool is closed|aborted/i.test(message);
}

/** Deadlock (1213) and write conflict (1020) in MySQL/MariaDB, busy in SQLite: retry the transaction. */
export function isRetryableConflict(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  const errno = (error as { errno?: unknown } | null)?.errno;
  return errno === 1213 || errno === 1020;
}

export function isDuplicateKey(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
