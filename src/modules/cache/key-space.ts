import { AppError } from '../../shared/http/app-error';

/**
 * The service's own key space in Redis: every key it writes, named relative to REDIS_KEY_PREFIX (which
 * ioredis adds to each command), belongs to one of these families. The cache endpoints show and touch
 * nothing else, so a Redis shared with another application (or another environment under another
 * prefix) stays out of reach.
 */
export const KEY_FAMILIES = [
  { prefix: 'live:room:', holds: "a room's realtime figures: pending deltas, flush state, cached DB1 row, event log (anchor)" },
  { prefix: 'top10:', holds: 'TOP10 boards and their refund counts (audience)' },
  { prefix: 'analytics:', holds: 'cached report answers (analytics)' },
  { prefix: 'rl:rewards:', holds: 'the reward rate limit’s windows (audience)' },
  { prefix: 'reward-sweep:', holds: 'the reward sweep cursor (audience)' },
  { prefix: 'cron:run:{', holds: 'job run leases (scheduler)' },
  { prefix: 'cron:tick:{', holds: 'job tick claims (scheduler)' },
] as const;

/**
 * Keys that hold what exists nowhere else yet, or that keep a protocol exact: a room's pending
 * deltas and the ids behind them (rewards not yet folded into DB1), its flush in progress, the ids
 * that refuse late duplicates, the flush acknowledgement and journal floor, its event log (the
 * stream's replay promise); a board scope's refund count (a rebuild racing a refund compares it);
 * the sweep's cursor (deleting it restarts the sweep from its rebuild window); the jobs' leases and
 * tick claims (deleting one lets a second instance run the job). Deleting one would lose or
 * double-count rewards or runs: `POST /rebuild/live-rooms/{id}` is the way to start a room's keys over.
 */
const PROTECTED = [
  /^live:room:(earnings|recharge_count|pending_ids|flushing|flushing_ids|flushed_ids|meta|events):/,
  /^top10:.*:refunds$/,
  /^reward-sweep:/,
  /^cron:/,
];

/** A TOP10 board is two keys, its totals and its `:state` (cut and counted ids): deleted together, or it would look built and miss its base. */
const BOARD = /^(top10:(?:room:\{\d+\}|viewers:\{platform\}):(?:day|week|month|all):[^:]+)(?::state)?$/;

/** The keys that go with `key` when it is deleted: both keys of a board, else the key alone. */
export function deletedTogether(key: string): string[] {
  const board = BOARD.exec(key);
  return board?.[1] ? [board[1], `${board[1]}:state`] : [key];
}

const GLOB_SPECIAL = /[*?[\]\\]/;
const MAX_PATTERN = 200;
const MAX_KEY = 512;

export function inKeySpace(key: string): boolean {
  return KEY_FAMILIES.some((family) => key.startsWith(family.prefix));
}

export function isProtected(key: string): boolean {
  return PROTECTED.some((rule) => rule.test(key));
}

function outside(what: string, value: string): AppError {
  return new AppError(
    'KEY_OUTSIDE_SERVICE',
    400,
    `${what} "${value.slice(0, 80)}" is outside this service's key space: ${KEY_FAMILIES.map((f) => `${f.prefix}*`).join(', ')}.`,
  );
}

/** Escapes what SCAN's MATCH would read as a glob, so REDIS_KEY_PREFIX matches only itself. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The service's key spaces as seen from outside: names given with REDIS_KEY_PREFIX in front (as
 * redis-cli shows them) are accepted too, and answered without it.
 */
export function createKeySpace(keyPrefix: string) {
  /** `name` without the prefix, when it carries it and is not a family name as it stands. */
  function relative(name: string): string {
    return keyPrefix && name.startsWith(keyPrefix) && !inKeySpace(name) ? name.slice(keyPrefix.length) : name;
  }

  return {
    /** A key named by a client, relative to the prefix; 400 KEY_OUTSIDE_SERVICE unless one of the families. */
    key(name: string): string {
      const key = relative(name);
      if (key.length > MAX_KEY || !inKeySpace(key)) throw outside('Key', name);
      return key;
    },

    /**
     * A SCAN pattern relative to the prefix. Its fixed beginning (up to the first glob character)
     * must start a family or be the start of one (`*`, `top*`): what it matches outside the
     * families is never shown. 400 KEY_OUTSIDE_SERVICE when it cannot match any family.
     */
    pattern(given: string): { match: string; relativePattern: string } {
      const pattern = relative(given);
      if (pattern.length > MAX_PATTERN) throw outside('Pattern', given);
      const special = GLOB_SPECIAL.exec(pattern);
      const head = special ? pattern.slice(0, special.index) : pattern;
      const reachable = KEY_FAMILIES.some((f) => head.startsWith(f.prefix) || (special !== null && f.prefix.startsWith(head)));
      if (!reachable) throw outside('Pattern', given);
      return { match: `${escapeGlob(keyPrefix)}${pattern}`, relativePattern: pattern };
    },

    /** A key as SCAN returns it (prefix included) -> as this service names it; null when not one of its own. */
    fromScanned(full: string): string | null {
      if (!full.startsWith(keyPrefix)) return null;
      const key = full.slice(keyPrefix.length);
      return inKeySpace(key) ? key : null;
    },
  };
}

export type KeySpace = ReturnType<typeof createKeySpace>;
