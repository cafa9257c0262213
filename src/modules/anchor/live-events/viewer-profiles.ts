import { LRUCache } from 'lru-cache';
import { chunks } from '../../../shared/chunks';
import type { Logger } from '../../../shared/logger';
import { VIEWER_PROFILES_MAX_IDS, type AudienceServiceClient, type ViewerProfileDto } from '../../audience/contract';

/** Viewers remembered at most; each for `ttlMs`, so a viewer who turns anonymous is hidden within that. */
const CACHED_VIEWERS = 10_000;

/**
 * The viewers named by events, from the audience module: one batched call for those not seen in
 * the last `ttlMs`, once per event and instance (not per client, not on the reward path).
 */
export function createViewerProfiles(deps: { audience: Pick<AudienceServiceClient, 'viewerProfiles'>; ttlMs: number; logger: Logger }) {
  const cache = new LRUCache<number, ViewerProfileDto | 'unknown'>({ max: CACHED_VIEWERS, ttl: deps.ttlMs });

  async function fetchMissing(ids: number[]): Promise<void> {
    for (const part of chunks(ids, VIEWER_PROFILES_MAX_IDS)) {
      const found = new Map((await deps.audience.viewerProfiles(part)).map((p) => [p.audienceId, p]));
      for (const id of part) cache.set(id, found.get(id) ?? 'unknown');
    }
  }

  /**
   * The profiles of these viewers; a viewer the audience module does not know, or could not be
   * asked about now, is absent — and shown as anonymous, so a failed lookup never reveals one.
   */
  return async function profilesOf(audienceIds: readonly number[]): Promise<Map<number, ViewerProfileDto>> {
    const missing = [...new Set(audienceIds)].filter((id) => !cache.has(id));
    if (missing.length > 0)
      await fetchMissing(missing).catch((error: unknown) =>
        deps.logger.warn({ err: error, viewers: missing.length }, 'viewer profiles unavailable: events show them as anonymous'),
      );
    const out = new Map<number, ViewerProfileDto>();
    for (const id of audienceIds) {
      const profile = cache.get(id);
      if (profile && profile !== 'unknown') out.set(id, profile);
    }
    return out;
  };
}

export type ViewerProfiles = ReturnType<typeof createViewerProfiles>;
