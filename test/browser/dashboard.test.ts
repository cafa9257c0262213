/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { db1Migrations } from '../../migrations/db1';
import { db2Migrations } from '../../migrations/db2';
import { DASHBOARD_CSP } from '../../src/dashboard/dashboard.routes';
import { TEST_MYSQL_URL, workerDatabaseName } from '../support/environment';
import { recreateDatabase } from '../support/global-setup';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';
import { listen } from '../support/sse-client';

/** Where the test keeps its screenshot (CI prints the path; not committed). */
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'dashboard.png');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Databases and a Redis of its own: every figure on the page is this test's, whatever other files left. */
const DB1 = `${TEST_MYSQL_URL}/${workerDatabaseName('dashboard_db1')}`;
const DB2 = `${TEST_MYSQL_URL}/${workerDatabaseName('dashboard_db2')}`;

let redis: PrivateRedis;
let t: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let base: string;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let admin: string;
let stage: { anchorId: number; roomId: number; viewerIds: number[] };
/** Every URL the page asked for, and every CSP violation or console error it met. */
const requested: string[] = [];
const problems: string[] = [];

/** As the page shows an amount: "12345.60" -> "¥12,345.60". */
function money(amount: string): string {
  const [whole = '0', fraction = '00'] = amount.split('.');
  return `¥${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction}`;
}

async function reward(viewer: number, amount: string): Promise<void> {
  await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('DB'), audienceId: stage.viewerIds[viewer], liveRoomId: stage.roomId, amount })
    .expect(201);
}

async function apiGet(path: string): Promise<Record<string, unknown> & { items?: Array<Record<string, unknown>> }> {
  return (await t.http.get(path).set('Authorization', admin).expect(200)).body;
}

const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();

async function signIn(token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#sign-in');
}

beforeAll(async () => {
  // Report answers uncached: what the page shows and what the test reads next are computed alike.
  await Promise.all([recreateDatabase(DB1, db1Migrations), recreateDatabase(DB2, db2Migrations)]);
  redis = await PrivateRedis.start();
  t = await createTestPlatform({ DB1_URL: DB1, DB2_URL: DB2, REDIS_URL: redis.url, ANALYTICS_CACHE_TTL_MS: '0' });
  await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'the private Redis to be usable');
  admin = await t.auth('admin');
  server = await listen(t.app);
  base = `http://127.0.0.1:${server.port}`;
  stage = await liveStage(t, 3);
  await reward(0, '60000.00');
  await reward(1, '1250.50');
  await reward(2, '8.88');
  await reward(0, '0.50');
  userDataDir = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1360, height: 1000 },
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      // In the page: the test hears it as a console error.
      // eslint-disable-next-line no-console
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (request) => void requested.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => void problems.push(`page error: ${error.message}`));
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await server?.close();
  await t?.close();
  await redis?.dispose();
});

describe('the dashboard in Chromium', () => {
  it('when it is opened, then it is served with a strict CSP and asks for a token, keeping nothing before one is given', async () => {
    const response = await page.goto(`${base}/dashboard`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    await page.waitForSelector('body[data-state="signed-out"]');
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.isVisible('#board')).toBe(false);
  });

  it('when a viewer’s token is given, then the page refuses it and keeps none', async () => {
    await signIn(await t.token('audience', stage.viewerIds[0]));
    await page.waitForSelector('#login-error:not([hidden])');
    expect(await text('#login-error')).toMatch(/^This token is not an admin’s: /);
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    // The browser reports the refused call; nothing else went wrong.
    expect(problems).toEqual([expect.stringContaining('403')]);
    problems.length = 0;
  });

  it('when an admin signs in, then the overview, rankings, distribution, trend, sync queue and live room show what the API answers', async () => {
    await signIn(await t.token('admin'));
    await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });

    const overview = await apiGet('/analysis/api/v1/overview');
    expect(await text('#total-amount')).toBe(money(String(overview['totalAmount'])));
    expect(await text('#reward-count')).toBe(Number(overview['rewardCount']).toLocaleString('en-US'));
    expect(await text('#paying-viewers')).toBe(Number(overview['payingViewers']).toLocaleString('en-US'));
    expect(await text('#arppu')).toBe(money(String(overview['arppu'])));
    expect(await text('#platform-revenue')).toBe(money(String(overview['platformRevenue'])));
    // The databases are this test's own: today's figures are its four rewards exactly.
    expect(overview).toMatchObject({ totalAmount: '61259.88', rewardCount: 4, payingViewers: 3 });

    const anchors = await apiGet('/analysis/api/v1/anchors/ranking');
    const firstAnchor = anchors.items?.[0];
    expect(firstAnchor?.['anchorId']).toBe(stage.anchorId);
    const anchorCells = await page.$$eval('#anchor-ranking tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
    expect(anchorCells).toEqual([
      '1',
      String(firstAnchor?.['name']),
      money(String(firstAnchor?.['totalAmount'])),
      String(firstAnchor?.['rewardCount']),
    ]);
    const viewers = await apiGet('/analysis/api/v1/viewers/ranking');
    const viewerIds = await page.$$eval('#viewer-ranking tbody tr', (rows) =>
      rows.map((row) => Number((row as HTMLElement).dataset['audienceId'])),
    );
    expect(viewerIds).toEqual(viewers.items?.map((v) => v['audienceId']));

    const distribution = (await apiGet('/analysis/api/v1/distribution')) as unknown as {
      buckets: Array<{ rewardCount: number; totalAmount: string }>;
    };
    const shown = await page.$$eval('#distribution tbody tr', (rows) =>
      rows.map((row) => Array.from(row.children, (td) => td.textContent)),
    );
    expect(shown.map((cells) => [Number(cells[1]?.replace(/,/g, '')), cells[2]])).toEqual(
      distribution.buckets.map((b) => [b.rewardCount, money(b.totalAmount)]),
    );

    const trend = (await apiGet('/analysis/api/v1/trend?bucket=hour')) as unknown as { items: Array<{ totalAmount: string }> };
    expect(await page.getAttribute('#trend-chart', 'data-points')).toBe(String(trend.items.length));
    const trendFen = trend.items.reduce((sum, i) => sum + Math.round(Number(i.totalAmount) * 100), 0);
    expect(await page.getAttribute('#trend-chart', 'data-total')).toBe(String(trendFen));
    expect(await page.locator('#trend-chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#distribution-chart canvas').count()).toBeGreaterThan(0);

    const sync = await apiGet('/audience/api/v1/sync/status');
    expect(await text('#sync-queue')).toBe(Number(sync['queueSize']).toLocaleString('en-US'));
    expect(sync['queueSize']).toBe(4);
    expect(await text('#hit-rate')).toMatch(/^(\d+\.\d %|no lookups)$/);

    const realtime = (await t.http.get(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime`).expect(200)).body;
    const row = `#live-rooms tr[data-room-id="${stage.roomId}"]`;
    expect(await text(`${row} .earnings`)).toBe(money(realtime.totalEarnings));
    expect(realtime.totalEarnings).toBe('61259.88');
  });

  it('when a reward is sent, then the live room’s figures change on the page without a reload, through its event stream', async () => {
    const row = `#live-rooms tr[data-room-id="${stage.roomId}"]`;
    await page.waitForFunction((selector) => document.querySelector(`${selector} .stream`)?.textContent?.includes('live'), row, {
      timeout: 10_000,
    });
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    expect(await page.getAttribute(row, 'data-last-event-id')).toBeNull();
    await reward(1, '12.34');
    await page.waitForFunction((selector) => document.querySelector(`${selector} .earnings`)?.textContent === '¥61,272.22', row, {
      timeout: 10_000,
    });
    expect(await text(`${row} .count`)).toBe('5');
    expect(await text(`${row} .last`)).toMatch(/^¥12\.34 from /);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // Only a stream event sets the row's event id (the list's 5 s poll carries none): it was the stream that moved it.
    expect(await page.getAttribute(row, 'data-last-event-id')).toMatch(/^\d+$/);
  });

  it('when the page is reloaded, then the token is still in the tab’s session storage (never in local storage) and the figures come back', async () => {
    await page.reload();
    await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
    const storage = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: localStorage.length }));
    expect(storage).toEqual({ session: ['liveTipping.adminToken'], local: 0 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);
  });

  it('after all that, then the page asked nothing of another origin and met no CSP violation or script error', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('when signed out, then the token is gone and the figures are hidden', async () => {
    await page.click('#sign-out');
    await page.waitForSelector('body[data-state="signed-out"]');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.isVisible('#board')).toBe(false);
  });
});
