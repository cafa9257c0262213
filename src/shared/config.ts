import { isIP } from 'node:net';
import { validate } from 'node-cron';
import { z } from 'zod';
import { formatFen, MAX_AMOUNT_FEN, parseAmountToFen } from './money';

/**
 * The one typed configuration object, built from environment variables at boot.
 * No other file reads process.env: modules receive what they need from here. (The entry points
 * also read FAILPOINTS, which only tests set and which is no setting: see failpoints.ts.)
 */

/** The modules this build has. */
const MODULE_NAMES = ['anchor', 'audience', 'finance', 'analytics', 'cache'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

const DEV_JWT_SECRET = 'development-only-secret-change-me-0123456789';

const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A whole number written in decimal digits; blanks and "1e3" are refused rather than coerced. */
const wholeNumber = z
  .string()
  .trim()
  .regex(/^\d{1,15}$/, 'must be a whole number')
  .transform(Number);
const positiveInt = wholeNumber.pipe(z.number().int().positive());

const databaseUrl = z
  .string()
  .min(1)
  .refine((v) => /^mysql:\/\//.test(v) || /^sqlite:/.test(v), {
    message: 'must start with mysql:// or sqlite: (e.g. sqlite:./data/db1.sqlite)',
  });

const decimalRate = z.string().regex(/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/, 'must be a rate between 0 and 1 with at most four decimals');

const rewardCeiling = z.string().refine(
  (value) => {
    const fen = parseAmountToFen(value);
    return fen !== null && fen > 0 && fen <= MAX_AMOUNT_FEN;
  },
  `must be an amount like 100000.00, above 0 and at most ${formatFen(MAX_AMOUNT_FEN)}`,
);

const dailyCapAmount = z.string().refine(
  (value) => {
    const fen = parseAmountToFen(value);
    return fen !== null && fen <= MAX_AMOUNT_FEN;
  },
  `must be an amount like 5000.00, at most ${formatFen(MAX_AMOUNT_FEN)} (0 = no cap)`,
);

const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('Runtime mode; production makes secrets and database URLs mandatory.'),
  HOST: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe('Interface the HTTP server binds to; 0.0.0.0 when JWT_SECRET is set, else 127.0.0.1 (the development secret is public).'),
  PORT: wholeNumber.pipe(z.number().max(65535)).default(8080).describe('HTTP port (0 = any free port).'),
  DB1_URL: databaseUrl.optional().describe('DB1 (anchor + audience data): mysql://user:pass@host:3306/db1 or sqlite:./data/db1.sqlite.'),
  DB2_URL: databaseUrl.optional().describe('DB2 (finance data): mysql://… or sqlite:./data/db2.sqlite.'),
  DB_POOL_MAX: positiveInt.default(10).describe('Connections per database pool.'),
  DB_ACQUIRE_TIMEOUT_MS: positiveInt.default(2000).describe('How long a query waits for a pooled connection before failing with 503.'),
  DB_QUERY_TIMEOUT_MS: positiveInt
    .default(5000)
    .describe('MySQL: a statement (BEGIN and COMMIT too) unanswered by then fails with 503 and its connection is dropped.'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional()
    .describe('Redis; unset = run without Redis (realtime figures go straight to DB1).'),
  REDIS_KEY_PREFIX: z.string().default('').describe('Prefix for every Redis key (keeps environments apart on one server).'),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(150).describe('A Redis command slower than this fails fast instead of hanging a request.'),
  JWT_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe('HS256 signing secret for bearer tokens (mandatory in production).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  AUTO_MIGRATE: booleanFlag.optional().describe('Run pending migrations at start; defaults to true outside production.'),
  MODULES: z.string().default(MODULE_NAMES.join(',')).describe('Comma-separated modules this process serves.'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 1mb or 512kb')
    .default('1mb')
    .describe('Largest accepted request body.'),
  TIME_ZONE: z.string().default('Asia/Shanghai').describe('Time zone for day/week/month boundaries in reports.'),
  TOP10_CACHE_TTL_MS: positiveInt
    .pipe(z.number().max(60_000))
    .default(1000)
    .describe("How long a room's TOP10 is served from memory before it is read again (at most 60000)."),
  ANALYTICS_CACHE_TTL_MS: wholeNumber
    .pipe(z.number().max(3_600_000))
    .default(30_000)
    .describe('How long an analytics report answer is kept in Redis (0 = not cached; at most 3600000).'),
  DEFAULT_COMMISSION_RATE: decimalRate.default('0.5000').describe("Anchor's share when no per-anchor rate is in force."),
  MAX_REWARD_AMOUNT: rewardCeiling.default('100000.00').describe('Largest single reward (at most 10000000.00, the ceiling of any amount).'),
  CRON_ENABLED: booleanFlag.default(true).describe('Run the scheduled jobs in this process.'),
  CRON_LEASE_MS: positiveInt
    .pipe(z.number().min(1000, 'must be at least 1000'))
    .default(5000)
    .describe(
      'A running job holds its Redis lease this long, renewed every third of it: a job of a killed instance runs elsewhere within this long plus one interval.',
    ),
  SYNC_CRON: z.string().default('*/5 * * * *').describe('When the finance sync runs (cron, server time).'),
  SYNC_BATCH_SIZE: positiveInt.pipe(z.number().max(1000)).default(500).describe('Rewards per finance sync batch.'),
  SYNC_CLAIM_TTL_MS: positiveInt.default(120000).describe('A claimed sync batch not confirmed by then is claimed again (crash recovery).'),
  SYNC_CLAIM_LOCKING: z
    .enum(['skip-locked', 'plain'])
    .default('skip-locked')
    .describe(
      'How concurrent syncs share the queue: skip-locked (SELECT … FOR UPDATE SKIP LOCKED; MySQL 8, MariaDB 10.6+) or plain (a conditional UPDATE on chosen ids, for databases that parse SKIP LOCKED without honouring it, such as TiDB).',
    ),
  SYNC_LANES: positiveInt
    .pipe(z.number().max(8))
    .default(1)
    .describe(
      'Batches one sync run keeps in flight at once (each claims its own, as two instances would): one batch’s DB1 claim and confirmation overlap another’s settlement in finance. Batches of the same anchors wait on each other’s balance locks in finance.',
    ),
  SYNC_QUARANTINE_AFTER: positiveInt
    .pipe(z.number().max(1000))
    .default(5)
    .describe(
      'A reward finance refuses in this many sync runs (a 4xx for it alone; 503s and timeouts never count) is QUARANTINED: no longer sent until `sync quarantine retry`.',
    ),
  REALTIME_FLUSH_CRON: z.string().default('*/5 * * * *').describe('When pending realtime deltas are flushed from Redis to DB1.'),
  REALTIME_FLUSH_THRESHOLD: positiveInt.default(100).describe('A room is flushed after this many pending rewards.'),
  REALTIME_HEAL_CRON: z
    .string()
    .default('*/2 * * * * *')
    .describe('When the heal jobs run (seconds field first): the reward sweep, and flushing rooms after a Redis fault.'),
  REWARD_SWEEP_DELAY_MS: positiveInt
    .default(3000)
    .describe('A stored reward not counted in its room after this long is applied by the sweep (its own notification was lost).'),
  REALTIME_REBUILD_WINDOW_MS: positiveInt
    .default(900000)
    .describe('When Redis lost the sweep position (it restarted empty), the sweep looks this far back for rewards to apply again.'),
  REALTIME_JOURNAL_RETENTION_MS: positiveInt
    .default(3_600_000)
    .describe(
      "How far the realtime journal floor trails: reconciliation folds a room's lines up to the newest one older than this into the floor.",
    ),
  RECONCILE_CRON: z
    .string()
    .default('17 * * * *')
    .describe('When reconciliation runs with repair (realtime figures, settlements; balance mismatches are only reported).'),
  ANCHOR_CALL_TIMEOUT_MS: positiveInt
    .default(500)
    .describe('Breaker timeout of the reward path’s calls to the anchor module (room checks, realtime notification).'),
  REPORT_TIMEOUT_MS: positiveInt
    .default(300000)
    .describe(
      'How long a reconciliation statement, and a call between modules for it, may take (they read whole tables; a pool of their own, so the request path keeps DB_QUERY_TIMEOUT_MS).',
    ),
  MODULE_CALL_TIMEOUT_MS: positiveInt
    .default(30000)
    .describe('Breaker timeout of the other calls between modules (settlement batches, reconciliation).'),
  SESSION_SETTLE_MS: positiveInt
    .default(60000)
    .describe(
      "A live session's totals are stored for good once it ended this long ago (a reward judged just before the stop may commit just after it); until then reads count its reward rows.",
    ),
  SESSION_TOTALS_CRON: z
    .string()
    .default('*/15 * * * * *')
    .describe('When ended live sessions get their final totals (seconds field first).'),
  ROOM_FALLBACK_MS: wholeNumber
    .default(600000)
    .describe(
      'While the anchor module does not answer, rewards are judged by a room’s last known state up to this old (0 = refuse them with 503).',
    ),
  REWARD_QUEUE_MAX: positiveInt
    .default(2000)
    .describe('Rewards waiting for a DB1 transaction at most (each batch item counts); beyond it a reward is answered 503 at once.'),
  RATE_LIMIT_PER_MINUTE: wholeNumber.default(600).describe('Rewards per viewer per minute (0 = no limit).'),
  HEAP_GROWTH_PERCENT: wholeNumber
    .pipe(z.number().refine((n) => n === 0 || (n >= 50 && n <= 300), 'must be 0 or from 50 to 300'))
    .default(200)
    .describe(
      'After each full GC the JavaScript heap may grow to (1 + N/100)× what stayed live before the next one, a fixed factor in place of V8’s own (0 = V8’s, 1.1–4× by GC speed and memory pressure).',
    ),
  DAILY_REWARD_CAP: dailyCapAmount
    .default('0')
    .describe(
      'Most a viewer may reward per calendar day in TIME_ZONE, e.g. 5000.00; a reward that would exceed it is 409 DAILY_LIMIT_EXCEEDED (0 or empty = no cap).',
    ),
  WITHDRAWAL_MIN_AMOUNT: dailyCapAmount
    .default('10.00')
    .describe('Smallest amount one withdrawal may ask for; less is 409 WITHDRAWAL_BELOW_MINIMUM (0 = any amount above zero).'),
  WITHDRAWAL_MAX_OPEN: wholeNumber
    .default(0)
    .describe('Most withdrawals an anchor may have PENDING or APPROVED at once; one more is 409 TOO_MANY_OPEN_WITHDRAWALS (0 = no limit).'),
  WITHDRAWAL_DAILY_CAP: dailyCapAmount
    .default('0')
    .describe(
      'Most an anchor may ask to withdraw per calendar day in TIME_ZONE, rejected and cancelled requests left out; more is 409 DAILY_WITHDRAWAL_LIMIT (0 = no cap).',
    ),
  INCOME_HOLD_MS: wholeNumber
    .default(0)
    .describe(
      'Settled income becomes withdrawable this long after its settlement; until then the balance shows it as `pending` (0 = at once, and the balance has no `pending` field).',
    ),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10000).describe('Grace period for in-flight requests on SIGTERM.'),
  LIVE_EVENTS_HEARTBEAT_MS: positiveInt
    .pipe(z.number().max(15000))
    .default(10000)
    .describe('A live-room event stream gets a comment line this often (at most 15 s), so proxies and clients see it alive.'),
  LIVE_EVENTS_MAX_SUBSCRIBERS: positiveInt
    .default(10000)
    .describe('Live-room event streams one instance serves at most; one more is answered 503.'),
  LIVE_EVENTS_MAX_BUFFERED_BYTES: positiveInt
    .default(262144)
    .describe('Bytes a stream client may leave unread in the process; past it the client is disconnected (it reconnects and replays).'),
  LIVE_EVENTS_KEPT: positiveInt
    .pipe(z.number().min(1000))
    .default(1000)
    .describe('Events kept per room for replay to a reconnecting client (Last-Event-ID), at least 1000.'),
});

export type Environment = Record<string, string | undefined>;

export interface Config {
  env: 'development' | 'test' | 'production';
  http: { host: string; port: number; bodyLimit: string; shutdownTimeoutMs: number };
  db1Url: string;
  db2Url: string;
  dbPool: { max: number; acquireTimeoutMs: number; queryTimeoutMs: number };
  redis: { url: string | null; keyPrefix: string; commandTimeoutMs: number };
  jwtSecret: string;
  /** True when the development fallback secret is in use (never in production). */
  jwtSecretIsDefault: boolean;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  autoMigrate: boolean;
  modules: ModuleName[];
  timeZone: string;
  top10CacheTtlMs: number;
  analyticsCacheTtlMs: number;
  /** How old a reward must be before the TOP10 boards take it as committed or never to be: derived from the DB timeouts. */
  top10SettleDelayMs: number;
  defaultCommissionRate: string;
  maxRewardAmount: string;
  cronEnabled: boolean;
  cronLeaseMs: number;
  sync: SyncSettings;
  realtime: {
    flushCron: string;
    flushThreshold: number;
    journalRetentionMs: number;
    healCron: string;
    sweepDelayMs: number;
    rebuildWindowMs: number;
  };
  reconcileCron: string;
  anchorCallTimeoutMs: number;
  moduleCallTimeoutMs: number;
  reportTimeoutMs: number;
  roomFallbackMs: number;
  liveSessions: { settleMs: number; totalsCron: string };
  rewardQueueMax: number;
  rateLimitPerMinute: number;
  /** V8's heap growing factor as a percentage above 1 (0 = V8's own); applied by the entry point (`applyHeapGrowth`). */
  heapGrowthPercent: number;
  /** Most a viewer may reward per day in `timeZone`, as an amount ("5000.00"); null = no cap. */
  dailyRewardCap: string | null;
  liveEvents: { heartbeatMs: number; maxSubscribers: number; maxBufferedBytes: number; kept: number };
  /** Withdrawal guards in fen; 0 turns a guard off. */
  withdrawals: { minFen: number; maxOpen: number; dailyCapFen: number; holdMs: number };
}

export type SyncClaimLocking = 'skip-locked' | 'plain';

export interface SyncSettings {
  cron: string;
  batchSize: number;
  claimTtlMs: number;
  claimLocking: SyncClaimLocking;
  quarantineAfter: number;
  lanes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Documentation of every variable, for the README and `cli config`. */
export function describeConfig(): Array<{ name: string; description: string; default: string | undefined }> {
  return Object.entries(envSchema.shape).map(([name, schema]) => {
    const parsed = (schema as z.ZodType).safeParse(undefined);
    const value: unknown = parsed.success ? parsed.data : undefined;
    const fallback = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    return { name, description: (schema as z.ZodType).description ?? '', default: fallback };
  });
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The longest a reward can take from arrival (its created_at) to commit, plus a margin: waiting in
 * the queue (one connection wait and one statement), its batch's reads, the anchor module's room
 * check, then a connection and three statements (INSERT, UPDATE, COMMIT). Never less than 30 s.
 */
function slowestCommitMs(e: z.infer<typeof envSchema>): number {
  return Math.max(30_000, 2 * e.DB_ACQUIRE_TIMEOUT_MS + 5 * e.DB_QUERY_TIMEOUT_MS + e.ANCHOR_CALL_TIMEOUT_MS + 5000);
}

export function loadConfig(environment: Environment): Config {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  if (production) {
    if (!e.JWT_SECRET) problems.push('JWT_SECRET: required in production');
    if (!e.DB1_URL) problems.push('DB1_URL: required in production');
    if (!e.DB2_URL) problems.push('DB2_URL: required in production');
  }
  // Without a secret of its own the service signs with the development secret, which is in the
  // repository: anyone could mint an admin token. It then listens on loopback only.
  if (e.JWT_SECRET === DEV_JWT_SECRET)
    problems.push('JWT_SECRET: is the public development secret from the repository; choose a secret of your own (32+ characters)');
  const host = e.HOST ?? (e.JWT_SECRET ? '0.0.0.0' : '127.0.0.1');
  if (!e.JWT_SECRET && !production && !isLoopbackHost(host)) {
    problems.push(
      `HOST: ${host} is reachable from other machines, but JWT_SECRET is not set and the development secret is public; set JWT_SECRET (32+ characters) or leave HOST unset (127.0.0.1)`,
    );
  }
  if (!isValidTimeZone(e.TIME_ZONE)) problems.push(`TIME_ZONE: unknown time zone "${e.TIME_ZONE}"`);
  const modules = e.MODULES.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = modules.filter((m) => !(MODULE_NAMES as readonly string[]).includes(m));
  if (unknown.length > 0) problems.push(`MODULES: unknown module(s) ${unknown.join(', ')}; known: ${MODULE_NAMES.join(', ')}`);
  if (modules.length === 0) problems.push('MODULES: name at least one module');
  const crons = [
    ['SYNC_CRON', e.SYNC_CRON],
    ['REALTIME_FLUSH_CRON', e.REALTIME_FLUSH_CRON],
    ['RECONCILE_CRON', e.RECONCILE_CRON],
    ['REALTIME_HEAL_CRON', e.REALTIME_HEAL_CRON],
    ['SESSION_TOTALS_CRON', e.SESSION_TOTALS_CRON],
  ] as const;
  for (const [name, expression] of crons) {
    if (!validate(expression)) problems.push(`${name}: "${expression}" is not a cron expression`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    http: { host, port: e.PORT, bodyLimit: e.BODY_LIMIT, shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS },
    db1Url: e.DB1_URL ?? 'sqlite:./data/db1.sqlite',
    db2Url: e.DB2_URL ?? 'sqlite:./data/db2.sqlite',
    dbPool: { max: e.DB_POOL_MAX, acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS, queryTimeoutMs: e.DB_QUERY_TIMEOUT_MS },
    redis: { url: e.REDIS_URL ?? null, keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    jwtSecretIsDefault: !e.JWT_SECRET,
    logLevel: e.LOG_LEVEL,
    autoMigrate: e.AUTO_MIGRATE ?? !production,
    modules: modules as ModuleName[],
    timeZone: e.TIME_ZONE,
    top10CacheTtlMs: e.TOP10_CACHE_TTL_MS,
    analyticsCacheTtlMs: e.ANALYTICS_CACHE_TTL_MS,
    top10SettleDelayMs: slowestCommitMs(e),
    defaultCommissionRate: e.DEFAULT_COMMISSION_RATE,
    maxRewardAmount: e.MAX_REWARD_AMOUNT,
    cronEnabled: e.CRON_ENABLED,
    cronLeaseMs: e.CRON_LEASE_MS,
    sync: {
      cron: e.SYNC_CRON,
      batchSize: e.SYNC_BATCH_SIZE,
      claimTtlMs: e.SYNC_CLAIM_TTL_MS,
      claimLocking: e.SYNC_CLAIM_LOCKING,
      quarantineAfter: e.SYNC_QUARANTINE_AFTER,
      lanes: e.SYNC_LANES,
    },
    realtime: {
      flushCron: e.REALTIME_FLUSH_CRON,
      flushThreshold: e.REALTIME_FLUSH_THRESHOLD,
      journalRetentionMs: e.REALTIME_JOURNAL_RETENTION_MS,
      healCron: e.REALTIME_HEAL_CRON,
      sweepDelayMs: e.REWARD_SWEEP_DELAY_MS,
      rebuildWindowMs: e.REALTIME_REBUILD_WINDOW_MS,
    },
    reconcileCron: e.RECONCILE_CRON,
    anchorCallTimeoutMs: e.ANCHOR_CALL_TIMEOUT_MS,
    moduleCallTimeoutMs: e.MODULE_CALL_TIMEOUT_MS,
    reportTimeoutMs: e.REPORT_TIMEOUT_MS,
    roomFallbackMs: e.ROOM_FALLBACK_MS,
    liveSessions: { settleMs: e.SESSION_SETTLE_MS, totalsCron: e.SESSION_TOTALS_CRON },
    rewardQueueMax: e.REWARD_QUEUE_MAX,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    heapGrowthPercent: e.HEAP_GROWTH_PERCENT,
    dailyRewardCap: parseAmountToFen(e.DAILY_REWARD_CAP) ? e.DAILY_REWARD_CAP : null,
    withdrawals: {
      minFen: parseAmountToFen(e.WITHDRAWAL_MIN_AMOUNT) ?? 0,
      maxOpen: e.WITHDRAWAL_MAX_OPEN,
      dailyCapFen: parseAmountToFen(e.WITHDRAWAL_DAILY_CAP) ?? 0,
      holdMs: e.INCOME_HOLD_MS,
    },
    liveEvents: {
      heartbeatMs: e.LIVE_EVENTS_HEARTBEAT_MS,
      maxSubscribers: e.LIVE_EVENTS_MAX_SUBSCRIBERS,
      maxBufferedBytes: e.LIVE_EVENTS_MAX_BUFFERED_BYTES,
      kept: e.LIVE_EVENTS_KEPT,
    },
  };
}
