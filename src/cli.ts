import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, describeConfig, loadConfig, type Config } from './shared/config';
import { parseDurationSeconds } from './shared/duration';
import { armFailpoints } from './shared/failpoints';
import { createTokenService, ROLES, type Role } from './shared/http/auth';
import { createLogger } from './shared/logger';
import { formatFen } from './shared/money';
import { generateTraceId, runWithTrace } from './shared/trace';
import type { QuarantineDto } from './modules/audience';
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
