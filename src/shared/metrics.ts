import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process (per app in tests, so apps never share counters).
 * Modules register their own metrics on `registry`.
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  problems: Counter<'code' | 'status'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_server_requests_seconds',
    help: 'HTTP request duration by route template, method and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'problem+json responses by stable error code.',
    labelNames: ['code', 'status'],
    registers: [registry],
  });
  return { registry, httpDuration, problems };
}
