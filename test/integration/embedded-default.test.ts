import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';

/**
 * Boots `src/main.ts` as a newcomer's `npm start` would — no database URLs, no Redis, in an
 * empty directory — and drives it over real HTTP: the embedded default must keep working.
 */
const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

let dir: string;
let child: ChildProcess;
let output = '';
let base: string;
let adminToken: string;

function waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    const timer = setInterval(() => {
      const match = pattern.exec(output);
      if (match) {
        clearInterval(timer);
        resolvePromise(match);
      } else if (child.exitCode !== null || Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`service did not print ${pattern} (exit ${child.exitCode}):\n${output}`));
      }
    }, 50);
    const started = Date.now();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tipping-embedded-'));
  child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'src/main.ts')], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [, url] = await waitForOutput(/Live tipping is up on (http:\/\/localhost:\d+)/);
  base = url!.replace('localhost', '127.0.0.1');
  const [, token] = await waitForOutput(/admin token[^\n]*\n\s+(\S+)/);
  adminToken = token!;
}, 30_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the embedded default (SQLite files, no Redis)', () => {
  it('when started with no configuration, then it migrates SQLite files under ./data and reports Redis DISABLED', async () => {
    expect(existsSync(join(dir, 'data/db1.sqlite'))).toBe(true);
    expect(existsSync(join(dir, 'data/db2.sqlite'))).toBe(true);
    const health = await request(base).get('/health').expect(200);
    expect(health.body).toMatchObject({
      status: 'UP',
      components: { db1: { status: 'UP' }, db2: { status: 'UP' }, redis: { status: 'DISABLED' } },
    });
  });

  it('when started without JWT_SECRET, then it says it listens on loopback only, and other interfaces refuse connections', async () => {
    expect(output).toContain('listening on 127.0.0.1 only: set JWT_SECRET to serve other machines');
    expect(output).toMatch(/"level":"warn".*JWT_SECRET is not set/);
    const port = Number(new URL(base).port);
    const outward = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of outward) {
      const refused = await new Promise<boolean>((resolveConnect) => {
        const socket = connect({ host: address, port }, () => {
          socket.destroy();
          resolveConnect(false);
        });
        socket.once('error', () => resolveConnect(true));
      });
      expect({ address, refused }).toEqual({ address, refused: true });
    }
  });

  it('when a newcomer creates an anchor, a room and a viewer with the printed token, then they all work end to end', async () => {
    const auth = `Bearer ${adminToken}`;
    const anchor = await request(base).post('/anchor/api/v1/anchors').set('Authorization', auth).send({ name: 'Alice' }).expect(201);
    const room = await request(base)
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', auth)
      .send({ anchorId: anchor.body.anchorId, title: 'First show' })
      .expect(201);
    const live = await request(base).post(`/anchor/api/v1/live-rooms/${room.body.liveRoomId}/start`).set('Authorization', auth).expect(200);
    expect(live.body).toMatchObject({ status: 'LIVE', anchorId: anchor.body.anchorId });
    expect(live.body.currentSessionId).toBeGreaterThan(0);
    const viewer = await request(base).post('/audience/api/v1/audiences').set('Authorization', auth).send({ nickname: 'Bob' }).expect(201);
    const read = await request(base).get(`/audience/api/v1/audiences/${viewer.body.audienceId}`).set('Authorization', auth).expect(200);
    expect(read.body.nickname).toBe('Bob');
    const bad = await request(base).post('/anchor/api/v1/anchors').set('Authorization', auth).send({}).expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('when rewards flow on SQLite without Redis, then ids, realtime figures (source db), the sync and the balance all add up', async () => {
    const auth = `Bearer ${adminToken}`;
    const anchor = await request(base).post('/anchor/api/v1/anchors').set('Authorization', auth).send({ name: 'Carol' }).expect(201);
    const room = await request(base)
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', auth)
      .send({ anchorId: anchor.body.anchorId, title: 'SQLite show' })
      .expect(201);
    const roomId = room.body.liveRoomId as number;
    await request(base).post(`/anchor/api/v1/live-rooms/${roomId}/start`).set('Authorization', auth).expect(200);
    const viewer = await request(base).post('/audience/api/v1/audiences').set('Authorization', auth).send({ nickname: 'Dan' }).expect(201);
    const audienceId = viewer.body.audienceId as number;
    const single = await request(base)
      .post('/audience/api/v1/recharge')
      .set('Authorization', auth)
      .send({ traceId: 'SQLITE-1', audienceId, liveRoomId: roomId, amount: '1.01' })
      .expect(201);
    const items = ['2.02', '3.03', '4.04'].map((amount, i) => ({ traceId: `SQLITE-B${i}`, audienceId, liveRoomId: roomId, amount }));
    const batch = await request(base).post('/audience/api/v1/recharge/batch').set('Authorization', auth).send({ items }).expect(200);
    const ids = [single.body.rechargeId, ...batch.body.results.map((r: { rechargeId: number }) => r.rechargeId)] as number[];
    expect(new Set(ids).size).toBe(4);
    for (const [i, id] of ids.entries()) {
      const read = await request(base).get(`/audience/api/v1/recharge/${id}`).set('Authorization', auth).expect(200);
      expect(read.body.traceId).toBe(i === 0 ? 'SQLITE-1' : `SQLITE-B${i - 1}`);
    }
    const figures = await request(base).get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200);
    expect(figures.body).toMatchObject({ totalEarnings: '10.10', rechargeCount: 4, source: 'db' });
    const sync = await request(base).post('/audience/api/v1/sync/trigger').set('Authorization', auth).expect(200);
    expect(sync.body).toMatchObject({ synced: 4, pending: 0 });
    const balance = await request(base).get(`/finance/api/v1/balances/${anchor.body.anchorId}`).set('Authorization', auth).expect(200);
    // Default rate 0.5000: floor of half of 101, 202, 303, 404 fen = 50 + 101 + 151 + 202.
    expect(balance.body).toMatchObject({ available: '5.04', totalIncome: '5.04' });
  });

  it('when it receives SIGTERM, then it drains and exits with code 0', async () => {
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('shutdown complete');
  });
});
