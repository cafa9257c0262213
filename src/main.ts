import { createTerminus } from '@godaddy/terminus';
import { ConfigError, loadConfig } from './shared/config';
import { armFailpoints } from './shared/failpoints';
import { applyHeapGrowth } from './shared/heap';
import { createHttpServer } from './shared/http/server';
import { generateTraceId, runWithTrace } from './shared/trace';
import { createPlatform } from './platform';

/** Starts the HTTP service: config -> platform -> listener, with graceful shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  applyHeapGrowth(config.heapGrowthPercent);
  // A test's instrument, not a setting: read here once, kept out of Config (see shared/failpoints.ts).
  const failpoints = armFailpoints(process.env['FAILPOINTS'], config.env);
  const platform = await runWithTrace({ traceId: generateTraceId('BOOT') }, () => createPlatform(config));
  const { logger } = platform;
  if (failpoints.length > 0) logger.warn({ failpoints }, 'failpoints armed: this process fails on purpose where a test asked');
  const server = createHttpServer(platform.app);

  createTerminus(server, {
    signals: ['SIGTERM', 'SIGINT'],
    timeout: config.http.shutdownTimeoutMs,
    useExit0: true,
    beforeShutdown: () => {
      platform.probe.markShuttingDown();
      logger.info('shutting down: no new connections, draining requests, ending event streams');
      // Event streams never finish by themselves: ended here, their clients reconnect to another instance.
      return platform.endStreams();
    },
    onSignal: () => platform.close(),
    onShutdown: () => {
      logger.info('shutdown complete');
      return Promise.resolve();
    },
    logger: (message, error) => logger.error({ err: error }, message),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, resolve);
  });
  if (config.cronEnabled) platform.scheduler.start();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const base = `http://localhost:${port}`;
  logger.info(
    {
      host: config.http.host,
      port,
      modules: config.modules,
      db1: config.db1Url.replace(/:[^:@/]*@/, ':***@'),
      redis: config.redis.url !== null,
    },
    `listening on ${base}`,
  );
  if (config.jwtSecretIsDefault) {
    logger.warn(
      { host: config.http.host },
      'JWT_SECRET is not set: tokens are signed with the public development secret, so the service listens on loopback only',
    );
  }

  if (config.env !== 'production') {
    const token = await platform.tokens.sign({ role: 'admin', id: 1 }, 12 * 3600);
    const exposure = config.jwtSecretIsDefault
      ? `  listening on ${config.http.host} only: set JWT_SECRET to serve other machines\n`
      : `  listening on ${config.http.host}\n`;
    process.stdout.write(
      `\nLive tipping is up on ${base}\n${exposure}  API docs:    ${base}/docs\n  health:      ${base}/health\n` +
        `  admin token (12 h, development only):\n  ${token}\n\n`,
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
