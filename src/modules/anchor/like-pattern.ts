/**
 * A LIKE pattern matching `text` anywhere, with `!` as the escape character (`… like ? escape '!'`):
 * a `%` or `_` the user typed is matched literally. Case-insensitive on MariaDB through the
 * columns' `_ci` collation, and for ASCII on SQLite.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, '!$&')}%`;
}
