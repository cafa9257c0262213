/**
 * Timestamps are DATETIME(3) in UTC. They are written and read as `YYYY-MM-DD HH:MM:SS.mmm` text on
 * both MySQL (dateStrings) and SQLite, so ranges compare the same way on both and nothing depends
 * on the server's time zone.
 */

export function toDbTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

export function fromDbTime(value: string | Date): Date {
  if (value instanceof Date) return value;
  const iso = value.includes('T') ? value : `${value.replace(' ', 'T')}`;
  return new Date(iso.endsWith('Z') ? iso : `${iso}Z`);
}

export function isoFromDb(value: string | Date): string {
  return fromDbTime(value).toISOString();
}

export function isoFromDbOrNull(value: string | Date | null | undefined): string | null {
  return value === null || value === undefined ? null : isoFromDb(value);
}
