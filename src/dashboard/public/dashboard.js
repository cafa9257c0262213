// The operators' dashboard: plain ES module, no build step. Everything comes from this service's own
// origin (the page's Content-Security-Policy allows nothing else): the figures from the admin API
// with the token kept in sessionStorage, the live rooms' figures from their public event streams.
import uPlot from './uplot.mjs';

const TOKEN_KEY = 'liveTipping.adminToken';
/** How often the figures are read again; the live rooms move with their event streams in between. */
const REFRESH_MS = 10_000;
/** The live rooms' list (and the figures of rooms without a stream) is read again this often. */
const LIVE_LIST_MS = 5_000;
/**
 * Event streams the page keeps open at most, the largest rooms first. A browser opens at most six
 * HTTP/1.1 connections to one origin and each stream holds one: four leave two for the API calls.
 */
const MAX_STREAMS = 4;
const DAY_MS = 86_400_000;

const $ = (selector) => document.querySelector(selector);

class AuthError extends Error {
  constructor(status, detail) {
    super(`${status === 401 ? 'The token was not accepted' : 'This token is not an admin’s'}${detail ? `: ${detail}` : '.'}`);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** A call that takes longer is given up (and tried again by the next refresh): a stuck connection never freezes the page. */
const CALL_TIMEOUT_MS = 8_000;

/** GET on this service, as the signed-in admin; an AuthError on 401/403, an Error with the problem's detail otherwise. */
async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
  const url = query ? `${path}?${query}` : path;
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
    cache: 'no-store',
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const body = await res.json().catch(() => null);
  if (res.status === 401 || res.status === 403) throw new AuthError(res.status, body && body.detail);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(body && (body.code || body.detail)) || res.statusText}`);
  return body;
}

/** "10.00" -> "9.99": the last amount below a bucket's exclusive upper bound, in integer fen. */
function fenBefore(amount) {
  const [whole, fraction = '00'] = amount.split('.');
  const fen = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0')) - 1n;
  return `${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`;
}

/** "1000.00" -> "1k": an axis label. */
function short(amount) {
  const yuan = Number(amount.split('.')[0]);
  return yuan >= 1000 ? `${yuan / 1000}k` : String(yuan);
}

/** "12345.60" -> "¥12,345.60", from the string (no float ever touches an amount shown). */
function money(amount) {
  const negative = amount.startsWith('-');
  const [whole, fraction = '00'] = (negative ? amount.slice(1) : amount).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}¥${grouped}.${fraction}`;
}

function count(n) {
  return n.toLocaleString('en-US');
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(table, rows, emptyText) {
  const body = table.querySelector('tbody');
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(emptyText, 'empty');
    td.colSpan = table.querySelectorAll('thead th').length;
    tr.append(td);
    body.append(tr);
  }
}

/** The selected period as the reports' query: "today" is the reports' default (today so far in the service's zone). */
function rangeQuery() {
  const range = $('#range').value;
  if (range === 'today') return { overview: {}, trend: { bucket: 'hour' }, caption: 'by hour, last 24 hours' };
  const days = range === '7d' ? 7 : 30;
  // Whole minutes: refreshes within a minute share the service's cached answers.
  const from = new Date(Math.floor((Date.now() - days * DAY_MS) / 60_000) * 60_000).toISOString();
  return { overview: { from }, trend: { from, bucket: 'day' }, caption: `by day, last ${days} days` };
}

// ---- charts ----------------------------------------------------------------------------------

const charts = { trend: null, distribution: null };

function chartWidth(element) {
  return Math.max(280, element.clientWidth || element.parentElement.clientWidth - 36);
}

function drawTrend(trend) {
  const element = $('#trend-chart');
  const xs = trend.items.map((i) => Date.parse(i.start) / 1000);
  const amounts = trend.items.map((i) => Number(i.totalAmount));
  const rewards = trend.items.map((i) => i.rewardCount);
  element.dataset.points = String(xs.length);
  element.dataset.total = trend.items.reduce((sum, i) => sum + Math.round(Number(i.totalAmount) * 100), 0).toString();
  const data = [xs, amounts, rewards];
  if (charts.trend && charts.trend.bucket === trend.bucket) {
    charts.trend.plot.setData(data);
    return;
  }
  charts.trend?.plot.destroy();
  const plot = new uPlot(
    {
      width: chartWidth(element),
      height: 240,
      scales: { x: { time: true }, rewards: {} },
      series: [
        {},
        {
          label: 'Amount (¥)',
          stroke: '#d6336c',
          fill: 'rgba(214, 51, 108, 0.12)',
          width: 2,
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(2)),
        },
        {
          label: 'Rewards',
          stroke: '#4263eb',
          width: 1.5,
          scale: 'rewards',
          value: (_u, v) => (v === null || v === undefined ? '–' : count(v)),
        },
      ],
      axes: [
        {},
        { size: 70, values: (_u, splits) => splits.map((v) => `¥${v.toLocaleString('en-US')}`) },
        { side: 1, scale: 'rewards', grid: { show: false } },
      ],
    },
    data,
    element,
  );
  charts.trend = { plot, bucket: trend.bucket };
}

function drawDistribution(distribution) {
  const element = $('#distribution-chart');
  const labels = distribution.buckets.map((b) => (b.max ? `${short(b.min)}–${short(b.max)}` : `≥${short(b.min)}`));
  const data = [distribution.buckets.map((_, i) => i), distribution.buckets.map((b) => b.rewardCount)];
  if (charts.distribution) {
    charts.distribution.setData(data);
  } else {
    charts.distribution = new uPlot(
      {
        width: chartWidth(element),
        height: 200,
        legend: { show: false },
        scales: { x: { time: false, range: [-0.5, distribution.buckets.length - 0.5] } },
        series: [
          {},
          {
            label: 'Rewards',
            fill: 'rgba(66, 99, 235, 0.55)',
            stroke: '#4263eb',
            paths: uPlot.paths.bars({ size: [0.7, 80] }),
            points: { show: false },
          },
        ],
        axes: [{ splits: () => data[0], values: (_u, splits) => splits.map((i) => labels[i] ?? '') }, {}],
      },
      data,
      element,
    );
  }
  fillTable(
    $('#distribution'),
    distribution.buckets.map((b) => {
      const tr = document.createElement('tr');
      tr.append(
        cell(b.max ? `${money(b.min)} – ${money(fenBefore(b.max))}` : `${money(b.min)} and above`),
        cell(count(b.rewardCount), 'num'),
        cell(money(b.totalAmount), 'num'),
      );
      return tr;
    }),
    'No rewards',
  );
}

window.addEventListener('resize', () => {
  for (const chart of [charts.trend?.plot, charts.distribution]) {
    if (chart) chart.setSize({ width: chartWidth(chart.root.parentElement), height: chart.height });
  }
});

// ---- figures ---------------------------------------------------------------------------------

function showOverview(o) {
  $('#total-amount').textContent = money(o.totalAmount);
  $('#reward-count').textContent = count(o.rewardCount);
  $('#paying-viewers').textContent = count(o.payingViewers);
  $('#arppu').textContent = money(o.arppu);
  $('#platform-revenue').textContent = money(o.platformRevenue);
}

function showRankings(anchors, viewers) {
  fillTable(
    $('#anchor-ranking'),
    anchors.items.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.anchorId = String(a.anchorId);
      tr.append(
        cell(String(a.rank)),
        cell(a.name ?? `#${a.anchorId}`),
        cell(money(a.totalAmount), 'num'),
        cell(count(a.rewardCount), 'num'),
      );
      return tr;
    }),
    'No rewards in this period',
  );
  fillTable(
    $('#viewer-ranking'),
    viewers.items.map((v) => {
      const tr = document.createElement('tr');
      tr.dataset.audienceId = String(v.audienceId);
      const name = `${v.nickname ?? `#${v.audienceId}`}${v.anonymous ? ' (anonymous)' : ''}`;
      tr.append(cell(String(v.rank)), cell(name), cell(money(v.totalAmount), 'num'), cell(count(v.rewardCount), 'num'));
      return tr;
    }),
    'No rewards in this period',
  );
}

function showSync(status) {
  $('#sync-queue').textContent = count(status.queueSize);
  $('#sync-quarantined').textContent = status.quarantined > 0 ? `${count(status.quarantined)} quarantined` : 'none quarantined';
}

/** The cache module may be served elsewhere, or Redis be down: the card says so instead of failing the page. */
async function hitRateText() {
  try {
    const rate = (await api('/cache/api/v1/stats')).service.hitRate;
    return rate === null ? 'no lookups' : `${(rate * 100).toFixed(1)} %`;
  } catch (error) {
    if (error instanceof AuthError) throw error;
    return 'unavailable';
  }
}

/** Bumped at every sign-in and sign-out: what an earlier session asked for is dropped when it answers. */
let session = 0;
let refreshing = null;
/** Asked for while a refresh was running (the period changed): run once more after it. */
let refreshAgain = false;

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  const mine = session;
  const range = rangeQuery();
  refreshing = (async () => {
    try {
      const [overview, trend, anchors, viewers, distribution, sync, hitRate] = await Promise.all([
        api('/analysis/api/v1/overview', range.overview),
        api('/analysis/api/v1/trend', range.trend),
        api('/analysis/api/v1/anchors/ranking', range.overview),
        api('/analysis/api/v1/viewers/ranking', range.overview),
        api('/analysis/api/v1/distribution', range.overview),
        api('/audience/api/v1/sync/status'),
        hitRateText(),
      ]);
      if (mine !== session) return;
      showOverview(overview);
      $('#trend-caption').textContent = range.caption;
      drawTrend(trend);
      drawDistribution(distribution);
      showRankings(anchors, viewers);
      showSync(sync);
      $('#hit-rate').textContent = hitRate;
      $('#status').textContent = `Updated ${new Date().toLocaleTimeString()}`;
      $('#status').classList.remove('stale');
      document.body.dataset.state = 'ready';
    } catch (error) {
      if (mine !== session) return;
      if (error instanceof AuthError) return signOut(error.message);
      $('#status').textContent = `Update failed: ${error.message}`;
      $('#status').classList.add('stale');
    } finally {
      refreshing = null;
      if (refreshAgain && mine === session) {
        refreshAgain = false;
        void refresh();
      }
    }
  })();
  return refreshing;
}

// ---- live rooms ------------------------------------------------------------------------------

/** roomId -> its EventSource; rooms no longer live are closed. */
const streams = new Map();
/** roomId -> the figures of its last event and when it came: newer than a list read, they win over it. */
const lastEvents = new Map();

function roomRow(roomId) {
  return $(`#live-rooms tr[data-room-id="${roomId}"]`);
}

function flash(row) {
  row.classList.add('flash');
  setTimeout(() => row.classList.remove('flash'), 1200);
}

/** How a room's stream stands, as its row shows it. */
function streamState(roomId) {
  const source = streams.get(roomId);
  if (!source) return { text: '', className: 'stream' };
  return source.readyState === EventSource.OPEN
    ? { text: '● live', className: 'stream stream-on' }
    : { text: '○ connecting', className: 'stream stream-off' };
}

function showStreamState(roomId) {
  const state = roomRow(roomId)?.querySelector('.stream');
  if (!state) return;
  const { text, className } = streamState(roomId);
  state.textContent = text;
  state.className = className;
}

function watch(roomId) {
  if (streams.has(roomId)) return;
  const source = new EventSource(`/anchor/api/v1/live-rooms/${roomId}/realtime/stream`);
  streams.set(roomId, source);
  source.addEventListener('open', () => showStreamState(roomId));
  source.addEventListener('error', () => {
    // A stream refused outright (503: the instance serves as many as it may) is closed for good by the
    // browser: forget it, and the next list read opens it again.
    if (source.readyState === EventSource.CLOSED && streams.get(roomId) === source) streams.delete(roomId);
    showStreamState(roomId);
  });
  source.addEventListener('reward', (event) => {
    const reward = JSON.parse(event.data);
    lastEvents.set(roomId, {
      at: performance.now(),
      totalEarnings: reward.totalEarnings,
      rechargeCount: reward.rechargeCount,
      eventId: event.lastEventId,
    });
    const row = roomRow(roomId);
    if (!row) return;
    row.querySelector('.earnings').textContent = money(reward.totalEarnings);
    row.querySelector('.count').textContent = count(reward.rechargeCount);
    row.querySelector('.last').textContent = `${money(reward.amount)} from ${reward.nickname ?? 'an anonymous viewer'}`;
    row.dataset.lastEventId = event.lastEventId;
    flash(row);
  });
}

let listing = false;

async function refreshLiveRooms() {
  if (listing) return;
  listing = true;
  const mine = session;
  try {
    const askedAt = performance.now();
    const live = await api('/anchor/api/v1/live-rooms/live', { limit: 50 });
    if (mine !== session) return;
    const rows = live.items.map((room) => {
      const tr = document.createElement('tr');
      tr.dataset.roomId = String(room.liveRoomId);
      const previous = roomRow(room.liveRoomId);
      // An event that came while the list was read, further along than the list, is newer than it.
      const event = lastEvents.get(room.liveRoomId);
      const figures = event && event.at > askedAt && event.rechargeCount > room.rechargeCount ? event : room;
      if (event?.eventId) tr.dataset.lastEventId = event.eventId;
      const state = streamState(room.liveRoomId);
      tr.append(
        cell(String(room.liveRoomId)),
        cell(room.title),
        cell(`#${room.anchorId}`),
        cell(money(figures.totalEarnings), 'num earnings'),
        cell(count(figures.rechargeCount), 'num count'),
        cell(previous?.querySelector('.last')?.textContent ?? '', 'last'),
        cell(state.text, state.className),
      );
      return tr;
    });
    fillTable($('#live-rooms'), rows, 'No room is live');
    const watched = new Set(live.items.slice(0, MAX_STREAMS).map((r) => r.liveRoomId));
    for (const [roomId, source] of streams) {
      if (!watched.has(roomId)) {
        source.close();
        streams.delete(roomId);
        lastEvents.delete(roomId);
      }
    }
    for (const roomId of watched) watch(roomId);
    const polled =
      live.items.length > MAX_STREAMS
        ? `; the ${MAX_STREAMS} largest move with each reward, the others every ${LIVE_LIST_MS / 1000} s`
        : '';
    $('#live-caption').textContent = `${live.items.length} live${polled}`;
  } catch (error) {
    if (mine !== session) return;
    if (error instanceof AuthError) return signOut(error.message);
    $('#live-caption').textContent = `update failed: ${error.message}`;
  } finally {
    listing = false;
  }
}

// ---- session ---------------------------------------------------------------------------------

const timers = [];

function start() {
  session += 1;
  $('#login').hidden = true;
  $('#board').hidden = false;
  $('#controls').hidden = false;
  void refresh();
  void refreshLiveRooms();
  timers.push(
    setInterval(() => void refresh(), REFRESH_MS),
    setInterval(() => void refreshLiveRooms(), LIVE_LIST_MS),
  );
}

function signOut(message) {
  session += 1;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const source of streams.values()) source.close();
  streams.clear();
  lastEvents.clear();
  $('#board').hidden = true;
  $('#controls').hidden = true;
  $('#login').hidden = false;
  const error = $('#login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  document.body.dataset.state = 'signed-out';
}

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const given = $('#token')
    .value.trim()
    .replace(/^Bearer\s+/i, '');
  if (!given) return;
  sessionStorage.setItem(TOKEN_KEY, given);
  try {
    await api('/audience/api/v1/sync/status');
  } catch (error) {
    return signOut(error instanceof AuthError ? error.message : `The service did not answer: ${error.message}`);
  }
  $('#token').value = '';
  start();
});

$('#sign-out').addEventListener('click', () => signOut());
$('#range').addEventListener('change', () => void refresh());

if (token()) start();
else signOut();
