import { z } from 'zod';
import type { HealthProbe, Store } from './shared/health';
import { route, type AnyRoute } from './shared/http/routes';
import type { Metrics } from './shared/metrics';
import type { ModuleSurface } from './shared/module';

const componentSchema = z.object({
  status: z.enum(['UP', 'DOWN', 'DISABLED']),
  latencyMs: z.number().optional(),
  error: z.string().optional(),
});

const healthSchema = z
  .object({
    status: z.enum(['UP', 'DOWN']),
    components: z.object({ db1: componentSchema, db2: componentSchema, redis: componentSchema }),
  })
  .meta({ id: 'Health' });

function healthRoute(path: string, summary: string, requires: readonly Store[], probe: HealthProbe): AnyRoute {
  return route({
    method: 'get',
    path,
    summary,
    description: `DOWN (503) when ${requires.join(' or ')} is unreachable${requires.includes('redis') ? ' (a Redis that is not configured is DISABLED, not DOWN)' : '; Redis is reported but not required'}.`,
    access: 'public',
    responses: { 200: { description: 'UP', schema: healthSchema }, 503: { description: 'DOWN', schema: healthSchema } },
    handle: async () => {
      const report = await probe.check(requires);
      return { status: report.status === 'UP' ? 200 : 503, body: report, headers: { 'Cache-Control': 'no-store' } };
    },
  });
}

/** Health per module and for the whole process, Prometheus metrics, and the OpenAPI document. */
export function systemRoutes(deps: {
  probe: HealthProbe;
  metrics: Metrics;
  modules: readonly ModuleSurface[];
  openapiDocument: () => unknown;
}): AnyRoute[] {
  const moduleHealth = deps.modules.flatMap((m) =>
    m.health ? [healthRoute(m.health.path, `Health of the ${m.name} module`, m.health.requires, deps.probe)] : [],
  );
  return [
    healthRoute('/health', 'Liveness and dependencies of this instance', ['db1'], deps.probe),
    ...moduleHealth,
    route({
      method: 'get',
      path: '/actuator/prometheus',
      summary: 'Prometheus metrics',
      access: 'public',
      responses: { 200: { description: 'Prometheus text exposition format', schema: z.string(), contentType: 'text/plain' } },
      handle: async ({ res }) => {
        res.setHeader('Content-Type', deps.metrics.registry.contentType);
        res.status(200).send(await deps.metrics.registry.metrics());
      },
    }),
    route({
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI document',
      access: 'public',
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handle: () => Promise.resolve({ status: 200, body: deps.openapiDocument() }),
    }),
  ];
}
