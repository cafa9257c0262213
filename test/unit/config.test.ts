import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, describeConfig, loadConfig, type Environment } from '../../src/shared/config';

const STRONG_SECRET = 'a-production-secret-of-at-least-32-chars';

/** Runs loadConfig and returns the ConfigError it throws; fails the test when it does not throw one. */
function configErrorFor(environment: Environment): ConfigError {
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(environment)}`);
}

describe('the heap growth factor', () => {
  it('when HEAP_GROWTH_PERCENT is unset, then it is 200; 0 (V8 decides) and the bounds 50 and 300 are taken as given', () => {
    expect(loadConfig({}).heapGrowthPercent).toBe(200);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '50' }).heapGrowthPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: ' 300 ' }).heapGrowthPercent).toBe(300);
  });
});

describe('the modules a process serves', () => {
  it('when MODULES names cache, then it is served; a name that is no module is refused with the known ones', () => {
    expect(loadConfig({ MODULES: 'anchor,cache' }).modules).toEqual(['anchor', 'cache']);
    const error = configErrorFor({ MODULES: 'anchor,caches' });
    expect(error.problems).toEqual(['MODULES: unknown module(s) caches; known: anchor, audience, finance, analytics, cache']);
  });
});

describe('the interface it binds to without a JWT secret of its own', () => {
  it('when JWT_SECRET is set, then HOST defaults to every interface; when not, to loopback only', () => {
    expect(loadConfig({ JWT_SECRET: STRONG_SECRET }).http.host).toBe('0.0.0.0');
    expect(loadConfig({}).http.host).toBe('127.0.0.1');
  });

  it.each(['0.0.0.0', '::', '192.168.1.20', 'example.com', '128.0.0.1'])(
    'when HOST is %s and JWT_SECRET is not set, then the configuration is refused naming HOST and JWT_SECRET',
    (host) => {
      const error = configErrorFor({ HOST: host });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(new RegExp(`^HOST: ${host.replace(/\./g, '\\.')} is reachable from other machines.*JWT_SECRET`));
    },
  );

  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])(
    'when HOST is the loopback address %s, then no JWT_SECRET is needed',
    (host) => {
      expect(loadConfig({ HOST: host }).http.host).toBe(host);
    },
  );

  it('when JWT_SECRET is the public development secret itself, then the configuration is refused (it would count as set and bind every interface)', () => {
    const devSecret = loadConfig({}).jwtSecret;
    const error = configErrorFor({ JWT_SECRET: devSecret });
    expect(error.problems).toEqual([expect.stringMatching(/^JWT_SECRET: is the public development secret/)]);
  });

  it('when JWT_SECRET is set, then any HOST is accepted', () => {
    expect(loadConfig({ HOST: '0.0.0.0', JWT_SECRET: STRONG_SECRET }).http.host).toBe('0.0.0.0');
  });
});

describe('loadConfig embedded defaults', () => {
  it('when nothing is set, then it runs in development on SQLite files, on loopback port 8080, auto-migrating, without Redis', () => {
    const config = loadConfig({});

    expect(config.env).toBe('development');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimit: '1mb', shutdownTimeoutMs: 10000 });
    expect(config.db1Url).toBe('sqlite:./data/db1.sqlite');
    expect(config.db2Url).toBe('sqlite:./data/db2.sqlite');
    expect(config.dbPool).toEqual({ max: 10, acquireTimeoutMs: 2000, queryTimeoutMs: 5000 });
    expect(config.rewardQueueMax).toBe(2000);
    expect(config.redis).toEqual({ url: null, keyPrefix: '', commandTimeoutMs: 150 });
    expect(config.autoMigrate).toBe(true);
    expect(config.jwtSecretIsDefault).toBe(true);
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.modules).toEqual(['anchor', 'audience', 'finance', 'analytics', 'cache']);
    expect(config.timeZone).toBe('Asia/Shanghai');
    expect(config.defaultCommissionRate).toBe('0.5000');
    expect(config.maxRewardAmount).toBe('100000.00');
    expect(config.cronEnabled).toBe(true);
    expect(config.logLevel).toBe('info');
  });

  it('when values are given, then they replace the defaults with the parsed types', () => {
    const config = loadConfig({
      PORT: '9090',
      DB1_URL: 'mysql://root:@127.0.0.1:3306/tipping_db1',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      JWT_SECRET: STRONG_SECRET,
      AUTO_MIGRATE: 'no',
      MODULES: ' anchor , finance ',
      CRON_ENABLED: '0',
    });

    expect(config.http.port).toBe(9090);
    expect(config.db1Url).toBe('mysql://root:@127.0.0.1:3306/tipping_db1');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379/0');
    expect(config.jwtSecret).toBe(STRONG_SECRET);
    expect(config.jwtSecretIsDefault).toBe(false);
    expect(config.autoMigrate).toBe(false);
    expect(config.modules).toEqual(['anchor', 'finance']);
    expect(config.cronEnabled).toBe(false);
  });

  it('when environment values are empty strings, then they are treated as unset', () => {
    const config = loadConfig({ PORT: '', DB1_URL: '', REDIS_URL: '', JWT_SECRET: '', MODULES: '', TIME_ZONE: '', NODE_ENV: '' });

    expect(config.env).toBe('development');
    expect(config.http.port).toBe(8080);
    expect(config.db1Url).toBe('sqlite:./data/db1.sqlite');
    expect(config.redis.url).toBeNull();
    expect(config.jwtSecretIsDefault).toBe(true);
    expect(config.modules).toHaveLength(5);
    expect(config.timeZone).toBe('Asia/Shanghai');
  });

  it('when production has everything it needs, then it loads without auto-migration unless asked', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      DB1_URL: 'mysql://app:pw@db:3306/tipping_db1',
      DB2_URL: 'mysql://app:pw@db:3306/tipping_db2',
    };

    expect(loadConfig(production).autoMigrate).toBe(false);
    expect(loadConfig(production).jwtSecretIsDefault).toBe(false);
    expect(loadConfig({ ...production, AUTO_MIGRATE: 'true' }).autoMigrate).toBe(true);
  });
});

describe('loadConfig validation', () => {
  it('when production lacks JWT_SECRET, DB1_URL and DB2_URL, then one ConfigError names each of them', () => {
    const error = configErrorFor({ NODE_ENV: 'production' });

    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^Invalid configuration:/);
    for (const variable of ['JWT_SECRET', 'DB1_URL', 'DB2_URL']) {
      expect(error.message).toContain(variable);
      expect(error.problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
    }
  });

  it('when production lacks only DB2_URL, then the error names DB2_URL and not the others', () => {
    const error = configErrorFor({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, DB1_URL: 'mysql://a@b/c' });

    expect(error.problems).toEqual(['DB2_URL: required in production']);
  });

  it('when production sets a variable to an empty string, then it counts as missing', () => {
    const error = configErrorFor({ NODE_ENV: 'production', JWT_SECRET: '', DB1_URL: 'mysql://a@b/c', DB2_URL: 'mysql://a@b/d' });

    expect(error.problems).toEqual(['JWT_SECRET: required in production']);
  });

  it.each<[string, Environment]>([
    ['PORT', { PORT: 'http' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['DB1_URL', { DB1_URL: 'postgres://localhost/db1' }],
    ['DB2_URL', { DB2_URL: './data/db2.sqlite' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
    ['JWT_SECRET', { JWT_SECRET: 'too-short-secret' }],
    ['MODULES', { MODULES: 'anchor,payments' }],
    ['MODULES', { MODULES: ' , ' }],
    ['TIME_ZONE', { TIME_ZONE: 'Mars/Olympus_Mons' }],
    ['DEFAULT_COMMISSION_RATE', { DEFAULT_COMMISSION_RATE: '1.5' }],
    ['DEFAULT_COMMISSION_RATE', { DEFAULT_COMMISSION_RATE: '0.12345' }],
    ['DEFAULT_COMMISSION_RATE', { DEFAULT_COMMISSION_RATE: '70%' }],
    ['MAX_REWARD_AMOUNT', { MAX_REWARD_AMOUNT: '100.001' }],
    ['MAX_REWARD_AMOUNT', { MAX_REWARD_AMOUNT: '0.00' }],
    ['MAX_REWARD_AMOUNT', { MAX_REWARD_AMOUNT: '10000000.01' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['AUTO_MIGRATE', { AUTO_MIGRATE: 'maybe' }],
    ['SYNC_CRON', { SYNC_CRON: 'every five minutes' }],
    ['REALTIME_FLUSH_CRON', { REALTIME_FLUSH_CRON: '61 * * * *' }],
    ['SYNC_BATCH_SIZE', { SYNC_BATCH_SIZE: '5000' }],
    ['DB_QUERY_TIMEOUT_MS', { DB_QUERY_TIMEOUT_MS: '0' }],
    ['REWARD_QUEUE_MAX', { REWARD_QUEUE_MAX: '0' }],
    ['REWARD_QUEUE_MAX', { REWARD_QUEUE_MAX: '-5' }],
    ['HEAP_GROWTH_PERCENT', { HEAP_GROWTH_PERCENT: '301' }],
    ['HEAP_GROWTH_PERCENT', { HEAP_GROWTH_PERCENT: '49' }],
    ['HEAP_GROWTH_PERCENT', { HEAP_GROWTH_PERCENT: '1' }],
  ])('when %s is invalid (%j), then a ConfigError names that variable', (variable, environment) => {
    const error = configErrorFor(environment);

    expect(error.message).toContain(variable);
    expect(error.problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
  });

  it('when several variables are invalid, then every one of them is reported', () => {
    const error = configErrorFor({ PORT: 'x', JWT_SECRET: 'short', DEFAULT_COMMISSION_RATE: '2' });

    expect(error.problems.map((p) => p.split(':')[0]).sort()).toEqual(['DEFAULT_COMMISSION_RATE', 'JWT_SECRET', 'PORT']);
  });

  // A blank or exponent-notation number must not be coerced (a blank PORT would mean "any free port").
  it.each([
    ['PORT', '   '],
    ['DB_POOL_MAX', '   '],
    ['RATE_LIMIT_PER_MINUTE', '  '],
    ['PORT', '8e3'],
    ['DB_ACQUIRE_TIMEOUT_MS', '2000.5'],
    ['DB_QUERY_TIMEOUT_MS', '5s'],
  ])('when %s is %j, then a ConfigError names it instead of reading a number', (variable, value) => {
    const error = configErrorFor({ [variable]: value });

    expect(error.problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
  });

  it('when the short JWT_SECRET is rejected, then the message says how long it must be and not the secret', () => {
    const error = configErrorFor({ JWT_SECRET: 'hunter2-leaky' });

    expect(error.message).toContain('at least 32 characters');
    expect(error.message).not.toContain('hunter2-leaky');
  });
});

describe('describeConfig', () => {
  const described = describeConfig();
  const names = described.map((entry) => entry.name);

  it('when listed, then every variable has a name in SCREAMING_SNAKE_CASE and a non-empty description', () => {
    expect(described.length).toBeGreaterThanOrEqual(20);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of described) {
      expect(entry.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(entry.description.trim().length).toBeGreaterThan(10);
    }
  });

  it('when compared with the README configuration table, then every documented variable is listed and every listed one documented', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## CLI'));
    const documented = [...section.matchAll(/^\|([^|]+)\|/gm)].flatMap((row) =>
      [...(row[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]),
    );

    expect(documented).toContain('TIME_ZONE');
    expect(documented.length).toBeGreaterThanOrEqual(15);
    expect(documented.filter((name) => !names.includes(name as string))).toEqual([]);
    expect(names.filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('when a variable has a scalar default, then the listed default is what loadConfig uses', () => {
    const defaults = Object.fromEntries(described.map((entry) => [entry.name, entry.default]));

    expect(defaults['PORT']).toBe('8080');
    expect(defaults['NODE_ENV']).toBe('development');
    expect(defaults['DB_POOL_MAX']).toBe('10');
    expect(defaults['DEFAULT_COMMISSION_RATE']).toBe('0.5000');
    expect(defaults['CRON_ENABLED']).toBe('true');
    expect(defaults['REDIS_URL']).toBeUndefined();
  });

  it('when every listed variable is set to its listed default, then loadConfig accepts them all', () => {
    const environment = Object.fromEntries(described.map((entry) => [entry.name, entry.default]));

    expect(() => loadConfig(environment)).not.toThrow();
  });
});

describe('DAILY_REWARD_CAP', () => {
  it('when it is unset, empty or zero, then there is no cap; when an amount, then that amount', () => {
    expect(loadConfig({}).dailyRewardCap).toBeNull();
    expect(loadConfig({ DAILY_REWARD_CAP: '' }).dailyRewardCap).toBeNull();
    expect(loadConfig({ DAILY_REWARD_CAP: '0' }).dailyRewardCap).toBeNull();
    expect(loadConfig({ DAILY_REWARD_CAP: '0.00' }).dailyRewardCap).toBeNull();
    expect(loadConfig({ DAILY_REWARD_CAP: '5000.00' }).dailyRewardCap).toBe('5000.00');
    expect(loadConfig({ DAILY_REWARD_CAP: '0.01' }).dailyRewardCap).toBe('0.01');
  });

  it.each(['-1', '5000.001', '1e3', 'lots', '10000000.01'])('when it is %j, then a ConfigError names it', (value) => {
    expect(configErrorFor({ DAILY_REWARD_CAP: value }).problems.some((p) => p.startsWith('DAILY_REWARD_CAP:'))).toBe(true);
  });
});
