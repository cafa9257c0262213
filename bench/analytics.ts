/**
 * `npm run bench:analytics`: the analytics reports against a reward table of BENCH_ANALYTICS_ROWS
 * rewards (default 1,000,000) spread over 2025, seeded straight into MariaDB (the sequence engine),
 * through the built service with the report cache off, so every answer is a database read. Each
 * report is asked BENCH_ANALYTICS_REPEAT times (default 5); the median and the slowest are printed
 * as JSON, with the machine. Databases of its own (tipping_bench_analytics_*).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { createDb } from '../src/shared/db/knex';
import { createTokenService } from '../src/shared/http/auth';
import { db1Migrations } from '../migrations/db1';
import { db2Migrations } from '../migrations/db2';
import { freshDatabase, ROOT, start } from './harness';

const ROWS = Number(process.env['BENCH_ANALYTICS_ROWS'] ?? 1_000_000);
const REPEAT = Number(process.env['BENCH_ANALYTICS_REPEAT'] ?? 5);
const SECRET = 'bench-secret-0123456789-0123456789-0123';
const ANCHORS = 200;
const ROOMS = 400;
const VIEWERS = 50_000;
/** 2025-01-01T00:00:00Z and the year's length: reward n lands at YEAR_START + n * YEAR_MS / ROWS. */
const YEAR_START = '2025-01-01 00:00:00.000';
const YEAR_SECONDS = 365 * 24 * 3600;

/** Anchors, rooms, viewers and rewards in a few INSERT … SELECT statements over MariaDB's seq_ tables. */
async function seed(url: string): Promise<void> {
  const db = createDb(url, { poolMax: 1, acquireTimeoutMs: 5000 });
  const now = "'2025-01-01 00:00:00.000'";
  try {
    await db.raw(
      `INSERT INTO anchor (id, name, status, created_at, updated_at) SELECT seq, CONCAT('anchor-', seq), 'ACTIVE', ${now}, ${now} FROM seq_1_to_${ANCHORS}`,
    );
    await db.raw(
      `INSERT INTO live_room (id, anchor_id, title, status, created_at, updated_at) SELECT seq, 1 + (seq - 1) % ${ANCHORS}, CONCAT('room ', seq), 'IDLE', ${now}, ${now} FROM seq_1_to_${ROOMS}`,
    );
    await db.raw(
      `INSERT INTO live_room_realtime (live_room_id, anchor_id, total_earnings, recharge_count, updated_at) SELECT seq, 1 + (seq - 1) % ${ANCHORS}, 0, 0, ${now} FROM seq_1_to_${ROOMS}`,
    );
    await db.raw(
      `INSERT INTO audience (id, nickname, status, total_amount, reward_count, created_at, updated_at) SELECT seq, CONCAT('viewer-', seq), 'ACTIVE', 0, 0, ${now}, ${now} FROM seq_1_to_${VIEWERS}`,
    );
    // Room k belongs to anchor 1 + (k - 1) % ANCHORS; amounts 1.00 to 999.99, a few large ones.
    await db.raw(
      `INSERT INTO recharge (trace_id, audience_id, live_room_id, anchor_id, amount, sync_status, created_at)
       SELECT CONCAT('AN-', seq), 1 + (seq * 7919) % ${VIEWERS}, 1 + seq % ${ROOMS}, 1 + (seq % ${ROOMS}) % ${ANCHORS},
              IF(seq % 997 = 0, 1000000 + seq % 100000, 100 + (seq * 104729) % 99900), 'SYNCED',
              TIMESTAMPADD(MICROSECOND, FLOOR((seq - 1) * ${YEAR_SECONDS} / ${ROWS} * 1000000), '${YEAR_START}')
       FROM seq_1_to_${ROWS}`,
    );
    await db.raw('ANALYZE TABLE recharge');
  } finally {
    await db.destroy();
  }
}

async function timed(url: string, token: string): Promise<{ medianMs: number; slowestMs: number; status: number }> {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < REPEAT; i += 1) {
    const started = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    status = res.status;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: Math.round(times[Math.floor(times.length / 2)] as number),
    slowestMs: Math.round(times[times.length - 1] as number),
    status,
  };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const db1 = await freshDatabase('tipping_bench_analytics_db1', db1Migrations);
  const db2 = await freshDatabase('tipping_bench_analytics_db2', db2Migrations);
  const seedStarted = performance.now();
  await seed(db1);
  const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
  const service = await start(
    ['dist/src/main.js'],
    {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DB1_URL: db1,
      DB2_URL: db2,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      CRON_ENABLED: 'false',
      ANALYTICS_CACHE_TTL_MS: '0',
      REPORT_TIMEOUT_MS: '60000',
    },
    '/health',
  );
  try {
    const admin = await createTokenService(SECRET).sign({ role: 'admin', id: 1 }, 3600);
    const base = `http://127.0.0.1:${service.port}/analysis/api/v1`;
    const year = 'from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z';
    const month = 'from=2025-06-01T00:00:00Z&to=2025-07-01T00:00:00Z';
    const day = 'from=2025-06-15T00:00:00Z&to=2025-06-16T00:00:00Z';
    const reports: Record<string, string> = {
      overviewYear: `${base}/overview?${year}`,
      overviewDay: `${base}/overview?${day}`,
      trendYearByDay: `${base}/trend?${year}&bucket=day`,
      trendWeekByHour: `${base}/trend?from=2025-06-01T00:00:00Z&to=2025-06-08T00:00:00Z&bucket=hour`,
      anchorsRankingMonth: `${base}/anchors/ranking?${month}`,
      viewersRankingMonth: `${base}/viewers/ranking?${month}`,
      roomReportMonth: `${base}/live-rooms/7/report?${month}`,
      distributionYear: `${base}/distribution?${year}`,
    };
    const timings: Record<string, { medianMs: number; slowestMs: number; status: number }> = {};
    for (const [name, url] of Object.entries(reports)) timings[name] = await timed(url, admin);
    const overview = (await (await fetch(reports['overviewYear'] as string, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
      rewardCount: number;
    };
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
          rows: ROWS,
          seedSeconds,
          overviewYearCountsAll: overview.rewardCount === ROWS,
          repeat: REPEAT,
          timings,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    service.child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
