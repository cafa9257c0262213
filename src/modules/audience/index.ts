import type { Db } from '../../shared/db/knex';
import type { Clock, ModuleSurface } from '../../shared/module';
import { createInProcessAudienceClient } from './client/in-process';
import type { AudienceServiceClient } from './contract';
import { viewerRoutes } from './viewers/viewers.routes';
import { createViewersService } from './viewers/viewers.service';

export type { AudienceServiceClient } from './contract';

export interface AudienceModuleDeps {
  db1: Db;
  clock: Clock;
}

export interface AudienceModule extends ModuleSurface {
  client: AudienceServiceClient;
}

/** Viewers, their rewards and consumption, and the sync queue towards finance (DB1). */
export function createAudienceModule(deps: AudienceModuleDeps): AudienceModule {
  const viewers = createViewersService({ db: deps.db1, clock: deps.clock });
  return {
    name: 'audience',
    routes: [{ prefix: '/audience/api/v1', tag: 'audience', routes: viewerRoutes(viewers) }],
    health: { path: '/audience/actuator/health', requires: ['db1'] },
    jobs: [],
    client: createInProcessAudienceClient(viewers),
  };
}
