import type { Db } from '../../shared/db/knex';
import type { Clock, ModuleSurface } from '../../shared/module';
import { anchorRoutes } from './anchors/anchors.routes';
import { createAnchorsService } from './anchors/anchors.service';
import { createInProcessAnchorClient } from './client/in-process';
import type { AnchorServiceClient } from './contract';
import { liveRoomRoutes } from './live-rooms/live-rooms.routes';
import { createLiveRoomsService } from './live-rooms/live-rooms.service';

export type { AnchorServiceClient } from './contract';

export interface AnchorModuleDeps {
  db1: Db;
  clock: Clock;
}

export interface AnchorModule extends ModuleSurface {
  client: AnchorServiceClient;
}

/** Anchors, live rooms and their sessions (DB1). */
export function createAnchorModule(deps: AnchorModuleDeps): AnchorModule {
  const anchors = createAnchorsService({ db: deps.db1, clock: deps.clock });
  const rooms = createLiveRoomsService({ db: deps.db1, clock: deps.clock });
  return {
    name: 'anchor',
    routes: [{ prefix: '/anchor/api/v1', tag: 'anchor', routes: [...anchorRoutes(anchors), ...liveRoomRoutes(rooms)] }],
    health: { path: '/anchor/actuator/health', requires: ['db1'] },
    jobs: [],
    client: createInProcessAnchorClient(rooms),
  };
}
