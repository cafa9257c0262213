import type { AudienceServiceClient } from '../contract';
import type { ViewersService } from '../viewers/viewers.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAudienceClient(viewers: ViewersService): AudienceServiceClient {
  return {
    getAudience: (audienceId) => viewers.getAudience(audienceId),
  };
}
