import { jest } from '@jest/globals';

/** The e2e tests start processes and wait for cron ticks: each test and hook may take up to two minutes. */
jest.setTimeout(120_000);
