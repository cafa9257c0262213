import { fetchJson } from '../test/support/fetch-json';
import type { Random } from './random';
import type { World } from './world';

export interface Stage {
  anchorIds: number[];
  roomIds: number[];
  viewerIds: number[];
}

/** What a client was told about a reward: the id it was stored under, for the audit. */
export interface Acknowledged {
  traceId: string;
  rechargeId: number;
  amountFen: number;
  liveRoomId: number;
}

export interface LoadCounts {
  singles: number;
  batches: number;
  replays: number;
  retries: number;
  refused: number;
}

interface Reward {
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  amount: string;
}

/** Sets up the anchors (with commission rates of their own), live rooms and viewers, through the API. */
export async function createStage(world: World, random: Random): Promise<Stage> {
  const base = world.instances[0]!.url;
  const post = async (path: string, body: unknown) => {
    const res = await fetchJson<Record<string, number>>(base, 'POST', path, { auth: world.admin, body });
    if (res.status >= 300) throw new Error(`stage: ${path} answered ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const stage: Stage = { anchorIds: [], roomIds: [], viewerIds: [] };
  for (let a = 0; a < 4; a += 1) {
    const { anchorId } = await post('/anchor/api/v1/anchors', { name: `chaos-anchor-${a}` });
    stage.anchorIds.push(anchorId!);
    await post('/finance/api/v1/commission-rates', { anchorId, rate: `0.${random.int(1000, 9999)}` });
    for (let r = 0; r < 2; r += 1) {
      const { liveRoomId } = await post('/anchor/api/v1/live-rooms', { anchorId, title: `chaos room ${a}-${r}` });
      await post(`/anchor/api/v1/live-rooms/${liveRoomId}/start`, {});
      stage.roomIds.push(liveRoomId!);
    }
  }
  for (let v = 0; v < 40; v += 1)
    stage.viewerIds.push((await post('/audience/api/v1/audiences', { nickname: `chaos-viewer-${v}` })).audienceId!);
  return stage;
}

/**
 * Clients that reward until `until`, each with its own seeded choices: single rewards, batches, and
 * replays of what it sent before; every request is retried with the same traceIds, on either
 * instance, until it is answered (a 2xx or a 4xx), as a careful client would.
 */
export function startLoad(
  world: World,
  stage: Stage,
  options: { clients: number; seed: number; until: () => boolean; random: (seed: number) => Random },
) {
  const acknowledged = new Map<string, Acknowledged>();
  const counts: LoadCounts = { singles: 0, batches: 0, replays: 0, retries: 0, refused: 0 };
  let sequence = 0;

  function newReward(random: Random, client: number): Reward {
    sequence += 1;
    const fen = random.int(1, 50_000);
    return {
      traceId: `CHAOS-${options.seed}-${client}-${sequence}`,
      audienceId: random.pick(stage.viewerIds),
      liveRoomId: random.pick(stage.roomIds),
      amount: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
    };
  }

  /** Sends until answered; returns the answer. */
  async function deliver(random: Random, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) counts.retries += 1;
      const instance = random.pick(world.instances);
      try {
        const res = await fetchJson(instance.url, 'POST', path, { auth: world.service, body, timeoutMs: 10_000 });
        if (res.status < 500) return res;
      } catch {
        // The instance is down or the request was cut: the same request again, maybe elsewhere.
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + random.int(0, 200)));
    }
  }

  function record(reward: Reward, status: number, rechargeId: number | undefined): void {
    if (status !== 201 && status !== 200) {
      counts.refused += 1;
      return;
    }
    const fen = Math.round(Number(reward.amount) * 100);
    acknowledged.set(reward.traceId, {
      traceId: reward.traceId,
      rechargeId: rechargeId as number,
      amountFen: fen,
      liveRoomId: reward.liveRoomId,
    });
  }

  async function runClient(client: number): Promise<void> {
    const random = options.random(options.seed * 1000 + client);
    const sent: Reward[] = [];
    while (!options.until()) {
      const replay = sent.length > 0 && random.chance(0.1);
      if (random.chance(0.15) && !replay) {
        const items = Array.from({ length: random.int(2, 20) }, () => newReward(random, client));
        const res = (await deliver(random, '/audience/api/v1/recharge/batch', { items })) as {
          status: number;
          body: { results?: Array<{ status: number; rechargeId?: number }> };
        };
        counts.batches += 1;
        res.body.results?.forEach((result, i) => record(items[i]!, result.status, result.rechargeId));
        sent.push(...items);
      } else {
        const reward = replay ? random.pick(sent) : newReward(random, client);
        const res = (await deliver(random, '/audience/api/v1/recharge', reward)) as { status: number; body: { rechargeId?: number } };
        if (replay) counts.replays += 1;
        else counts.singles += 1;
        record(reward, res.status, res.body.rechargeId);
        if (!replay) sent.push(reward);
      }
    }
  }

  const done = Promise.all(Array.from({ length: options.clients }, (_, client) => runClient(client)));
  return { acknowledged, counts, done };
}
