import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, describeConfig, loadConfig, type Config } from './shared/config';
import { parseDurationSeconds } from './shared/duration';
import { armFailpoints } from './shared/failpoints';
import { createTokenService, ROLES, type Role } from './shared/http/auth';
import { createLogger } from './shared/logger';
import { formatFen, parseRateToBasisPoints } from './shared/money';
import { calendarDay } from './shared/time-zone';
import { generateTraceId, runWithTrace } from './shared/trace';
import type { QuarantineDto } from './modules/audience';
import { financeShapes } from './modules/finance';
import { createPlatform, migrateAll, type Platform } from './platform';

/** Admin commands. Each runs under its own trace id, with the same configuration as the service. */

function config(): Config {
  return loadConfig(process.env);
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

function duration(value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === null) throw new InvalidArgumentError('must look like 90s, 15m, 1h or 7d');
  return seconds;
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

function calendarDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    throw new InvalidArgumentError('must be a date, YYYY-MM-DD');
  return value;
}

function rate(value: string): number {
  const bp = parseRateToBasisPoints(value);
  if (bp === null) throw new InvalidArgumentError('must be a rate between 0 and 1 with at most four decimals, like 0.7000');
  return bp;
}

const { WITHDRAWAL_STATUSES } = financeShapes;
type WithdrawalStatus = financeShapes.WithdrawalStatus;

function withdrawalStatus(value: string): WithdrawalStatus {
  if (!(WITHDRAWAL_STATUSES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${WITHDRAWAL_STATUSES.join(', ')}`);
  return value as WithdrawalStatus;
}

function reason(value: string): string {
  const text = value.trim();
  if (text.length === 0 || text.length > 255) throw new InvalidArgumentError('must be 1 to 255 characters');
  return text;
}

/** Logs go to stderr, so a command's output on stdout stays clean JSON for pipes (`| jq`). */
function cliLogger(cfg: Config) {
  return createLogger(cfg.logLevel, process.stderr);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Amounts as the API shows them ("12.34"), the rest as the contract gives it. */
function quarantineView(quarantine: QuarantineDto) {
  return {
    total: { count: quarantine.total.count, amount: formatFen(quarantine.total.amountFen) },
    rewards: quarantine.rewards.map(({ amountFen, ...reward }) => ({ ...reward, amount: formatFen(amountFen) })),
  };
}

/** The service's own composition root, without a listener; closed when the command is done. */
async function withPlatform(work: (platform: Platform) => Promise<void>): Promise<void> {
  const cfg = config();
  // A test's instrument, not a setting: read here once, kept out of Config (see shared/failpoints.ts).
  const failpoints = armFailpoints(process.env['FAILPOINTS'], cfg.env);
  const logger = cliLogger(cfg);
  if (failpoints.length > 0) logger.warn({ failpoints }, 'failpoints armed: this process fails on purpose where a test asked');
  const platform = await createPlatform({ ...cfg, autoMigrate: false }, { logger });
  try {
    await work(platform);
  } finally {
    await platform.close();
  }
}

export function buildCli(): Command {
  const program = new Command('live-tipping').description('Admin commands for the live-room tipping platform').showHelpAfterError();

  program
    .command('migrate')
    .description('Create missing MySQL databases, then apply pending migrations to DB1 and DB2')
    .action(async () => {
      const cfg = config();
      await migrateAll(cfg, cliLogger(cfg));
      process.stdout.write('migrations are up to date\n');
    });

  program
    .command('token')
    .description('Print a signed bearer token')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .option('--sub <id>', 'the subject id (the anchor or viewer id)', positiveInteger, 1)
    .option('--ttl <duration>', 'lifetime, e.g. 15m, 1h, 7d', duration, 3600)
    .action(async (options: { role: Role; sub: number; ttl: number }) => {
      const token = await createTokenService(config().jwtSecret).sign({ role: options.role, id: options.sub }, options.ttl);
      process.stdout.write(`${token}\n`);
    });

  const sync = program.command('sync').description('The settlement sync from DB1 rewards to finance');
  sync
    .command('run')
    .description('Settle every pending reward now, batch by batch; prints { synced, batches, pending }')
    .action(() => withPlatform(async (platform) => printJson(await platform.runSync())));
  const quarantine = sync
    .command('quarantine')
    .description(
      'Rewards the sync quarantined because finance refused them SYNC_QUARANTINE_AFTER times; they are not settled until put back',
    );
  quarantine
    .command('list')
    .description(
      'Print { total: { count, amount }, rewards: [...] }: every quarantined reward counted, the first --limit listed with finance’s last refusal',
    )
    .option('--limit <n>', 'how many to list, in id order', positiveInteger, 100)
    .action((options: { limit: number }) =>
      withPlatform(async (platform) => printJson(quarantineView(await platform.listQuarantined(options.limit)))),
    );
  quarantine
    .command('retry')
    .description('Put a quarantined reward (or, with --all, every one) back in the queue with its refusals cleared; prints { requeued }')
    .argument('[rechargeId]', 'the reward to put back', positiveInteger)
    .option('--all', 'every quarantined reward', false)
    .action((rechargeId: number | undefined, options: { all: boolean }) => {
      if ((rechargeId === undefined) === !options.all) throw new InvalidArgumentError('name one reward id or --all, not both');
      return withPlatform(async (platform) => printJson(await platform.requeueQuarantined(options.all ? 'all' : (rechargeId as number))));
    });

  const realtime = program.command('realtime').description("Live rooms' realtime figures");
  realtime
    .command('flush')
    .description('Fold every pending Redis delta into DB1 now; prints { rooms }')
    .action(() => withPlatform(async (platform) => printJson(await platform.flushRealtime())));
  realtime
    .command('heal')
    .description(
      'Run the heal jobs once: flush rooms whose Redis apply failed, then apply every stored reward its room has not counted; prints both reports',
    )
    .action(() => withPlatform(async (platform) => printJson(await platform.healRealtime())));

  program
    .command('reconcile')
    .description('Compare realtime figures (per room) and finance (per anchor) with the reward table; prints a JSON report')
    .option(
      '--repair',
      'make drifted realtime figures and settlements exact again (takes back settlements that are not a stored reward, settles SYNCED rewards finance lacks) and prune the realtime journal; balance mismatches are only reported',
      false,
    )
    .action((options: { repair: boolean }) =>
      withPlatform(async (platform) => {
        const report = await platform.reconcile({ repair: options.repair });
        printJson(report);
        // Non-zero when drift remains, so a cron wrapper or a human notices.
        if (!report.clean) process.exitCode = 3;
      }),
    );

  sync
    .command('compare')
    .description(
      "Hold one day's rewards in DB1 (by sync state) against what DB2 settled, per anchor; prints a JSON report and exits 4 when an anchor is missing rewards, has extra ones or another sum",
    )
    .option('--date <YYYY-MM-DD>', 'the calendar day in TIME_ZONE (default: yesterday)', calendarDate)
    .action((options: { date?: string }) =>
      withPlatform(async (platform) => {
        const date = options.date ?? calendarDay(new Date(Date.now() - 86_400_000), platform.config.timeZone).date;
        const report = await platform.compareSyncDay(date);
        printJson(report);
        if (!report.clean) process.exitCode = 4;
      }),
    );

  const withdrawal = program.command('withdrawal').description("Anchors' withdrawal requests: review and payment");
  withdrawal
    .command('list')
    .description('Print one page of withdrawals, newest first, as GET /finance/api/v1/withdrawals answers')
    .option('--status <status>', WITHDRAWAL_STATUSES.join('|'), withdrawalStatus)
    .option('--anchor <anchorId>', 'only this anchor’s', positiveInteger)
    .option('--page <n>', 'page number', positiveInteger, 1)
    .option('--page-size <n>', 'at most 100', positiveInteger, 20)
    .action((options: { status?: WithdrawalStatus; anchor?: number; page: number; pageSize: number }) =>
      withPlatform(async (platform) => {
        if (options.pageSize > 100) throw new InvalidArgumentError('--page-size must be at most 100');
        const page = await platform.finance.withdrawals.list({
          status: options.status,
          anchorId: options.anchor,
          page: options.page,
          pageSize: options.pageSize,
        });
        printJson({ ...page, items: page.items.map(financeShapes.withdrawalOut) });
      }),
    );
  const review = (name: 'approve' | 'pay', description: string) =>
    withdrawal
      .command(name)
      .description(description)
      .argument('<withdrawalId>', 'the withdrawal', positiveInteger)
      .requiredOption('--by <adminId>', 'the operator’s admin id, kept as the reviewer', positiveInteger)
      .action((id: number, options: { by: number }) =>
        withPlatform(async (platform) => printJson(financeShapes.withdrawalOut(await platform.finance.withdrawals[name](id, options.by)))),
      );
  review('approve', 'PENDING → APPROVED; prints the withdrawal (any other state: INVALID_STATE, exit 1)');
  withdrawal
    .command('reject')
    .description('PENDING or APPROVED → REJECTED, the amount back to available; prints the withdrawal')
    .argument('<withdrawalId>', 'the withdrawal', positiveInteger)
    .requiredOption('--reason <text>', 'why, shown to the anchor', reason)
    .requiredOption('--by <adminId>', 'the operator’s admin id, kept as the reviewer', positiveInteger)
    .action((id: number, options: { reason: string; by: number }) =>
      withPlatform(async (platform) =>
        printJson(financeShapes.withdrawalOut(await platform.finance.withdrawals.reject(id, options.reason, options.by))),
      ),
    );
  review('pay', 'APPROVED → PAID, frozen to withdrawn; prints the withdrawal');

  const commission = program.command('commission').description("Anchors' commission rates");
  commission
    .command('set')
    .description('A new rate for an anchor from --from (default now; never in the past); prints it as POST /commission-rates answers')
    .requiredOption('--anchor <anchorId>', 'the anchor', positiveInteger)
    .requiredOption('--rate <rate>', 'the anchor’s share, 0 to 1, e.g. 0.7000', rate)
    .option('--from <iso>', 'when it takes effect, ISO 8601')
    .action((options: { anchor: number; rate: number; from?: string }) =>
      withPlatform(async (platform) => {
        if (options.from !== undefined && Number.isNaN(Date.parse(options.from)))
          throw new InvalidArgumentError('--from must be an ISO 8601 date-time');
        printJson(await platform.finance.commission.setRate({ anchorId: options.anchor, rate: options.rate, effectiveFrom: options.from }));
      }),
    );
  commission
    .command('list')
    .description('Print the rates in force now, one per anchor with its own, as GET /commission-rates answers')
    .option('--page <n>', 'page number', positiveInteger, 1)
    .option('--page-size <n>', 'at most 100', positiveInteger, 100)
    .action((options: { page: number; pageSize: number }) =>
      withPlatform(async (platform) => {
        if (options.pageSize > 100) throw new InvalidArgumentError('--page-size must be at most 100');
        printJson(await platform.finance.commission.ratesInForce({ page: options.page, pageSize: options.pageSize }));
      }),
    );

  program
    .command('audit')
    .description(
      "Check finance's books against themselves: balance = Σ ledger (line by line), available + frozen + withdrawn = income = Σ settled shares − reversals, withdrawn = Σ paid, frozen = Σ open withdrawals ≥ 0, every split adds up; prints a JSON report and exits 5 on any breach",
    )
    .option('--anchor <anchorId...>', 'only these anchors', (value: string, previous: number[] = []) => [
      ...previous,
      positiveInteger(value),
    ])
    .action((options: { anchor?: number[] }) =>
      withPlatform(async (platform) => {
        const report = await platform.finance.audit({ anchorIds: options.anchor ?? [] });
        printJson(report);
        if (!report.clean) process.exitCode = 5;
      }),
    );

  program
    .command('config')
    .description('List the environment variables the service reads, with their defaults')
    .action(() => {
      for (const entry of describeConfig()) {
        process.stdout.write(`${entry.name.padEnd(26)} ${(entry.default ?? '-').padEnd(28)} ${entry.description}\n`);
      }
    });

  return program;
}

if (require.main === module) {
  runWithTrace({ traceId: generateTraceId('CLI') }, () => buildCli().parseAsync(process.argv)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
