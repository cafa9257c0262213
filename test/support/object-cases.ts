import type { Role } from '../../src/shared/http/auth';
import { newTraceId } from './platform';

/**
 * One entry per documented operation, for test/integration/object-authorization.test.ts: how to
 * call it on a world's own objects and what a caller allowed to do so gets. A new route without an
 * entry fails that test, so its authorisation is checked from the day it lands.
 */

/** What every check starts from: see `newWorld` in the test. */
export interface World {
  anchorId: number;
  otherAnchorId: number;
  /** LIVE, the anchor's, holding `reward`. */
  roomId: number;
  /** IDLE, the anchor's. */
  idleRoomId: number;
  /** The other anchor's. */
  otherRoomId: number;
  viewerId: number;
  otherViewerId: number;
  reward: { rechargeId: number; traceId: string; amount: string; createdAt: string };
  /** The anchor's PENDING withdrawal of 10.00 (16.17 is still available). */
  withdrawalId: number;
  /** A commission rate of the anchor that is not in force yet. */
  futureRateId: number;
}

export interface ObjectRequest {
  path: string;
  query?: Record<string, string | number>;
  body?: unknown;
}

export interface ObjectCase {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The documented path template. */
  path: string;
  /** The roles the operation accepts (API.md); every other role gets 403. */
  roles: Role[];
  /** Whose object the request names: that kind of token acts only on its own; null when nobody owns it. */
  owner: 'anchor' | 'audience' | null;
  /** The status a caller allowed to act gets. */
  ok: number;
  /** The problem code that status carries, when it is one (a health check of a module not loaded, say). */
  okCode?: string;
  /** A batch answers 200 and judges each item on its own: the first item's status, for the allowed and for a foreign caller. */
  itemOk?: number;
  request(w: World): ObjectRequest;
}

/** Who may call, as API.md gives it: the test compares these with each operation's published `x-roles`. */
const PUBLIC: Role[] = [];
const ADMIN: Role[] = ['admin'];
const ANCHOR: Role[] = ['admin', 'anchor'];
const VIEWER: Role[] = ['admin', 'audience'];
/** A viewer's own records, which the trusted front end may also reach for any viewer. */
const VIEWER_OR_SERVICE: Role[] = ['admin', 'audience', 'service'];
const INTERNAL: Role[] = ['internal'];

const A = '/anchor/api/v1';
const U = '/audience/api/v1';
const F = '/finance/api/v1';
const AN = '/analysis/api/v1';
const C = '/cache/api/v1';

const rewardBody = (w: World) => ({ traceId: newTraceId('OBJ'), audienceId: w.viewerId, liveRoomId: w.roomId, amount: '1.00' });
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();

export const OBJECT_CASES: ObjectCase[] = [
  // System
  ...[
    '/health',
    '/anchor/actuator/health',
    '/audience/actuator/health',
    '/finance/actuator/health',
    '/analysis/actuator/health',
    '/cache/actuator/health',
  ].map((path): ObjectCase => ({ method: 'get', path, roles: PUBLIC, owner: null, ok: 200, request: () => ({ path }) })),
  { method: 'get', path: '/actuator/prometheus', roles: PUBLIC, owner: null, ok: 200, request: () => ({ path: '/actuator/prometheus' }) },
  { method: 'get', path: '/openapi.json', roles: PUBLIC, owner: null, ok: 200, request: () => ({ path: '/openapi.json' }) },

  // Anchors
  {
    method: 'post',
    path: `${A}/anchors`,
    roles: ADMIN,
    owner: null,
    ok: 201,
    request: () => ({ path: `${A}/anchors`, body: { name: 'New anchor' } }),
  },
  {
    method: 'get',
    path: `${A}/anchors/{anchorId}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}` }),
  },
  {
    method: 'get',
    path: `${A}/anchors`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${A}/anchors`, query: { keyword: 'Owner' } }),
  },
  {
    method: 'patch',
    path: `${A}/anchors/{anchorId}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}`, body: { name: 'Renamed' } }),
  },
  {
    method: 'delete',
    path: `${A}/anchors/{anchorId}`,
    roles: ADMIN,
    owner: null,
    ok: 204,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}` }),
  },
  ...(['disable', 'enable'] as const).map((action): ObjectCase => ({
    method: 'post',
    path: `${A}/anchors/{anchorId}/${action}`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/${action}` }),
  })),
  ...(['live-rooms', 'balance', 'stats', 'top-supporters', 'supporters/summary'] as const).map((view): ObjectCase => ({
    method: 'get',
    path: `${A}/anchors/{anchorId}/${view}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/${view}` }),
  })),
  {
    method: 'get',
    path: `${A}/anchors/ranking`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: () => ({ path: `${A}/anchors/ranking`, query: { period: 'day' } }),
  },

  // Live rooms
  {
    method: 'post',
    path: `${A}/live-rooms`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 201,
    request: (w) => ({ path: `${A}/live-rooms`, body: { anchorId: w.anchorId, title: 'Another room' } }),
  },
  {
    method: 'get',
    path: `${A}/live-rooms/{liveRoomId}`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}` }),
  },
  {
    method: 'post',
    path: `${A}/live-rooms/{liveRoomId}/start`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.idleRoomId}/start` }),
  },
  {
    method: 'post',
    path: `${A}/live-rooms/{liveRoomId}/stop`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/stop` }),
  },

  {
    method: 'get',
    path: `${A}/live-rooms`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms`, query: { anchorId: w.anchorId } }),
  },
  { method: 'get', path: `${A}/live-rooms/live`, roles: PUBLIC, owner: null, ok: 200, request: () => ({ path: `${A}/live-rooms/live` }) },
  {
    method: 'patch',
    path: `${A}/live-rooms/{liveRoomId}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}`, body: { title: 'Renamed room' } }),
  },
  {
    method: 'post',
    path: `${A}/live-rooms/{liveRoomId}/close`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/close` }),
  },
  ...(['sessions', 'sessions/current', 'top-contributors'] as const).map((view): ObjectCase => ({
    method: 'get',
    path: `${A}/live-rooms/{liveRoomId}/${view}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/${view}` }),
  })),

  // Realtime
  {
    method: 'post',
    path: `${A}/live-rooms/realtime/reward`,
    roles: INTERNAL,
    owner: null,
    ok: 200,
    request: (w) => ({
      path: `${A}/live-rooms/realtime/reward`,
      body: {
        rechargeId: w.reward.rechargeId,
        traceId: w.reward.traceId,
        liveRoomId: w.roomId,
        audienceId: w.viewerId,
        amount: w.reward.amount,
      },
    }),
  },
  {
    method: 'get',
    path: `${A}/live-rooms/realtime`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/realtime`, query: { ids: `${w.roomId},${w.idleRoomId}` } }),
  },
  {
    method: 'get',
    path: `${A}/live-rooms/{liveRoomId}/realtime`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/realtime` }),
  },
  {
    method: 'post',
    path: `${A}/live-rooms/{liveRoomId}/realtime/flush`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/realtime/flush` }),
  },
  {
    method: 'get',
    path: `${A}/live-rooms/{liveRoomId}/realtime/stream`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/realtime/stream` }),
  },

  // Viewers
  {
    method: 'post',
    path: `${U}/audiences`,
    roles: ['admin', 'service'],
    owner: null,
    ok: 201,
    request: () => ({ path: `${U}/audiences`, body: { nickname: 'New viewer' } }),
  },
  {
    method: 'get',
    path: `${U}/audiences/{audienceId}`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/audiences/${w.viewerId}` }),
  },
  {
    method: 'get',
    path: `${U}/audiences/{audienceId}/consumption`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/audiences/${w.viewerId}/consumption` }),
  },

  {
    method: 'get',
    path: `${U}/audiences`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${U}/audiences`, query: { keyword: 'Viewer' } }),
  },
  {
    method: 'patch',
    path: `${U}/audiences/{audienceId}`,
    roles: VIEWER,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/audiences/${w.viewerId}`, body: { anonymous: true } }),
  },

  // Rewards
  {
    method: 'post',
    path: `${U}/recharge`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 201,
    request: (w) => ({ path: `${U}/recharge`, body: rewardBody(w) }),
  },
  {
    method: 'post',
    path: `${U}/recharge/batch`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    itemOk: 201,
    request: (w) => ({ path: `${U}/recharge/batch`, body: { items: [rewardBody(w)] } }),
  },
  {
    method: 'get',
    path: `${U}/recharge/top10`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${U}/recharge/top10`, query: { liveRoomId: w.roomId } }),
  },
  {
    method: 'get',
    path: `${U}/recharge/top10/viewers`,
    roles: PUBLIC,
    owner: null,
    ok: 200,
    request: () => ({ path: `${U}/recharge/top10/viewers`, query: { period: 'week' } }),
  },
  {
    method: 'get',
    path: `${U}/recharge/by-trace/{traceId}`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/recharge/by-trace/${w.reward.traceId}` }),
  },
  {
    method: 'get',
    path: `${U}/recharge/{rechargeId}`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/recharge/${w.reward.rechargeId}` }),
  },
  {
    method: 'post',
    path: `${U}/recharge/{rechargeId}/refund`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${U}/recharge/${w.reward.rechargeId}/refund`, body: { reason: 'object case' } }),
  },
  { method: 'post', path: `${U}/sync/trigger`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${U}/sync/trigger` }) },
  { method: 'get', path: `${U}/sync/status`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${U}/sync/status` }) },

  // Finance
  {
    method: 'post',
    path: `${F}/recharge/batch-sync`,
    roles: INTERNAL,
    owner: null,
    ok: 200,
    request: (w) => ({
      path: `${F}/recharge/batch-sync`,
      body: {
        batchId: newTraceId('OBJB'),
        records: [
          {
            rechargeId: w.reward.rechargeId,
            traceId: w.reward.traceId,
            anchorId: w.anchorId,
            liveRoomId: w.roomId,
            audienceId: w.viewerId,
            amount: w.reward.amount,
            createdAt: w.reward.createdAt,
          },
        ],
      },
    }),
  },
  {
    method: 'post',
    path: `${F}/commission-rates`,
    roles: ADMIN,
    owner: null,
    ok: 201,
    request: (w) => ({ path: `${F}/commission-rates`, body: { anchorId: w.anchorId, rate: '0.6000', effectiveFrom: tomorrow() } }),
  },
  {
    method: 'get',
    path: `${F}/balances/{anchorId}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${F}/balances/${w.anchorId}` }),
  },
  {
    method: 'get',
    path: `${F}/commission-rates`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${F}/commission-rates` }),
  },
  ...(['', '/history'] as const).map((tail): ObjectCase => ({
    method: 'get',
    path: `${F}/commission-rates/{anchorId}${tail}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${F}/commission-rates/${w.anchorId}${tail}` }),
  })),
  {
    method: 'delete',
    path: `${F}/commission-rates/{anchorId}/{rateId}`,
    roles: ADMIN,
    owner: null,
    ok: 204,
    request: (w) => ({ path: `${F}/commission-rates/${w.anchorId}/${w.futureRateId}` }),
  },
  {
    method: 'get',
    path: `${F}/settlements`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${F}/settlements`, query: { anchorId: w.anchorId, details: 'true' } }),
  },
  {
    method: 'get',
    path: `${F}/recharge/sync-summary`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${F}/recharge/sync-summary`, query: { date: '2026-01-02' } }),
  },
  // Withdrawals
  {
    method: 'post',
    path: `${F}/withdrawals`,
    roles: ['anchor'],
    owner: 'anchor',
    ok: 201,
    request: (w) => ({ path: `${F}/withdrawals`, body: { anchorId: w.anchorId, amount: '10.00', requestId: newTraceId('OBJ') } }),
  },
  { method: 'get', path: `${F}/withdrawals`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${F}/withdrawals` }) },
  {
    method: 'get',
    path: `${F}/withdrawals/{withdrawalId}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${F}/withdrawals/${w.withdrawalId}` }),
  },
  {
    method: 'post',
    path: `${F}/withdrawals/{withdrawalId}/approve`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${F}/withdrawals/${w.withdrawalId}/approve` }),
  },
  {
    method: 'post',
    path: `${F}/withdrawals/{withdrawalId}/reject`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${F}/withdrawals/${w.withdrawalId}/reject`, body: { reason: 'checked' } }),
  },
  {
    // The world's withdrawal is PENDING: paying it is refused, after the caller was let through.
    method: 'post',
    path: `${F}/withdrawals/{withdrawalId}/pay`,
    roles: ADMIN,
    owner: null,
    ok: 409,
    okCode: 'INVALID_STATE',
    request: (w) => ({ path: `${F}/withdrawals/${w.withdrawalId}/pay` }),
  },
  ...(['commission-rate', 'commission-rate/history', 'withdrawals'] as const).map((view): ObjectCase => ({
    method: 'get',
    path: `${A}/anchors/{anchorId}/${view}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/${view}` }),
  })),
  {
    method: 'post',
    path: `${A}/anchors/{anchorId}/withdrawals`,
    roles: ['anchor'],
    owner: 'anchor',
    ok: 201,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/withdrawals`, body: { amount: '10.00', requestId: newTraceId('OBJ') } }),
  },
  {
    method: 'post',
    path: `${A}/anchors/{anchorId}/withdrawals/{withdrawalId}/cancel`,
    roles: ['anchor'],
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/withdrawals/${w.withdrawalId}/cancel` }),
  },
  // Reward records
  ...(['rewards', 'rewards/daily', 'rewards.csv'] as const).map((tail): ObjectCase => ({
    method: 'get',
    path: `${A}/anchors/{anchorId}/${tail}`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/anchors/${w.anchorId}/${tail}` }),
  })),
  {
    method: 'get',
    path: `${A}/live-rooms/{liveRoomId}/rewards`,
    roles: ANCHOR,
    owner: 'anchor',
    ok: 200,
    request: (w) => ({ path: `${A}/live-rooms/${w.roomId}/rewards` }),
  },
  {
    method: 'get',
    path: `${U}/audiences/{audienceId}/rewards`,
    roles: VIEWER_OR_SERVICE,
    owner: 'audience',
    ok: 200,
    request: (w) => ({ path: `${U}/audiences/${w.viewerId}/rewards` }),
  },

  // Analysis
  {
    method: 'get',
    path: `${AN}/overview`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${AN}/overview`, query: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' } }),
  },
  {
    method: 'get',
    path: `${AN}/trend`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${AN}/trend`, query: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', bucket: 'hour' } }),
  },
  { method: 'get', path: `${AN}/anchors/ranking`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${AN}/anchors/ranking` }) },
  { method: 'get', path: `${AN}/viewers/ranking`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${AN}/viewers/ranking` }) },
  {
    method: 'get',
    path: `${AN}/live-rooms/{liveRoomId}/report`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${AN}/live-rooms/${w.roomId}/report` }),
  },
  { method: 'get', path: `${AN}/distribution`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${AN}/distribution` }) },

  // Cache
  {
    method: 'get',
    path: `${C}/keys`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: () => ({ path: `${C}/keys`, query: { pattern: 'live:room:*' } }),
  },
  {
    method: 'get',
    path: `${C}/keys/{key}`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${C}/keys/${encodeURIComponent(`live:room:events:{${w.roomId}}`)}` }),
  },
  {
    method: 'delete',
    path: `${C}/keys/{key}`,
    roles: ADMIN,
    owner: null,
    ok: 404,
    okCode: 'KEY_NOT_FOUND',
    request: () => ({ path: `${C}/keys/${encodeURIComponent('analytics:object-case:none')}` }),
  },
  { method: 'get', path: `${C}/stats`, roles: ADMIN, owner: null, ok: 200, request: () => ({ path: `${C}/stats` }) },
  {
    method: 'post',
    path: `${C}/rebuild/live-rooms/{liveRoomId}`,
    roles: ADMIN,
    owner: null,
    ok: 200,
    request: (w) => ({ path: `${C}/rebuild/live-rooms/${w.roomId}` }),
  },
];
