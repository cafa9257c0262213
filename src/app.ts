import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { Config } from './shared/config';
import type { HealthProbe } from './shared/health';
import { AppError } from './shared/http/app-error';
import type { TokenService } from './shared/http/auth';
import { errorHandler } from './shared/http/problem';
import { mountRouteGroup, RouteDispatch, RouteTable, type RouteGroup } from './shared/http/routes';
import { traceMiddleware } from './shared/http/trace-middleware';
import type { Logger } from './shared/logger';
import type { Metrics } from './shared/metrics';
import type { ModuleSurface } from './shared/module';
import { dashboardRoutes } from './dashboard/dashboard.routes';
import { systemRoutes } from './system-routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  tokens: TokenService;
  probe: HealthProbe;
  modules: readonly ModuleSurface[];
}

/**
 * When a request finishes: the duration histogram (labelled by route template, never the raw URL)
 * and one log line — errors at `error`, client problems at `info`, the rest at `debug`. Written by
 * hand rather than with pino-http: on the reward path its per-request child logger cost a tenth of
 * the CPU, and a line the level filters out should cost nothing.
 */
function requestObservation(metrics: Metrics, logger: Logger): RequestHandler {
  const log = logger.child({ component: 'http' });
  return (req, res, next) => {
    const started = performance.now();
    const quiet = req.url === '/actuator/prometheus' || req.url.endsWith('/health');
    res.once('finish', () => {
      const route = typeof res.locals['routeTemplate'] === 'string' ? res.locals['routeTemplate'] : undefined;
      const elapsedMs = performance.now() - started;
      metrics.httpDuration.observe(
        { method: req.method, route: route ?? 'unmatched', status_code: String(res.statusCode) },
        elapsedMs / 1000,
      );
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug';
      if (quiet || !log.isLevelEnabled(level)) return;
      const traceId = typeof res.locals['traceId'] === 'string' ? res.locals['traceId'] : undefined;
      log[level](
        {
          traceId,
          req: { method: req.method, url: req.originalUrl },
          res: { statusCode: res.statusCode },
          route,
          responseTime: Math.round(elapsedMs),
        },
        'request completed',
      );
    });
    next();
  };
}

function openapiDocument(registry: OpenAPIRegistry): () => unknown {
  let document: unknown;
  return () => {
    document ??= new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Live-room tipping platform',
        version: '1.0.0',
        description:
          'Rewards, realtime live-room figures, settlement, withdrawals and analytics. Money is a two-decimal string; errors are application/problem+json with a stable code.',
      },
    });
    return document;
  };
}

/**
 * helmet's default headers, worked out once and then set on every response in one step: the API's
 * headers never depend on the request, and helmet's chain of a dozen middlewares cost ~6 % of the
 * CPU of a reward. helmet stays the source of the policy.
 */
function staticSecurityHeaders(): RequestHandler {
  const headers = new Map<string, string>();
  const probe = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  let failure: unknown;
  helmet()({} as Request, probe as unknown as Response, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined || headers.size === 0) throw new Error('helmet did not produce its headers synchronously');
  const entries = [...headers];
  return (_req, res, next) => {
    for (const [name, value] of entries) res.setHeader(name, value);
    next();
  };
}

/** Builds the HTTP application from already-built modules; no I/O happens here. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.set('etag', false);
  // Paths are case-sensitive (as the edge's private-route rules in nginx.conf assume): /ACTUATOR/… is not /actuator/….
  app.set('case sensitive routing', true);

  app.use(traceMiddleware());
  app.use(requestObservation(deps.metrics, deps.logger));

  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const document = openapiDocument(registry);

  // Swagger UI loads its own scripts and styles: it gets a relaxed CSP of its own; the API keeps helmet's default.
  app.use(
    '/docs',
    helmet({
      contentSecurityPolicy: {
        directives: { 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
      },
    }),
    swaggerUi.serve,
    swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }),
  );
  app.use(staticSecurityHeaders());

  const table = new RouteTable();
  const dispatch = new RouteDispatch();
  const mount = { tokens: deps.tokens, bodyLimit: deps.config.http.bodyLimit, openapi: registry, table, dispatch };
  const groups: RouteGroup[] = [
    {
      prefix: '',
      tag: 'system',
      routes: systemRoutes({ probe: deps.probe, metrics: deps.metrics, modules: deps.modules, openapiDocument: document }),
    },
    ...deps.modules.flatMap((m) => m.routes),
  ];
  for (const group of groups) mountRouteGroup(group, mount);
  // The operators' page: its own, stricter CSP (dashboard.routes.ts).
  for (const page of dashboardRoutes()) {
    dispatch.add('get', page.path, [page.handle]);
    table.add('get', page.path);
  }
  app.use(dispatch.middleware());
  // What the tests compare with the OpenAPI document: every route served.
  app.locals['servedRoutes'] = () => dispatch.routes();

  app.use((req, _res, next) => {
    const allowed = table.allowedMethods(req.path);
    if (allowed.length > 0) {
      next(
        new AppError('METHOD_NOT_ALLOWED', 405, `${req.method} is not allowed here; use ${allowed.join(', ')}.`, {
          headers: { Allow: allowed.join(', ') },
        }),
      );
      return;
    }
    next(new AppError('ROUTE_NOT_FOUND', 404, `There is no route ${req.method} ${req.path}.`));
  });
  app.use(errorHandler(deps.logger, (code, status) => deps.metrics.problems.inc({ code, status: String(status) })));
  return app;
}
