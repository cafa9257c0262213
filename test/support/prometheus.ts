import type { TestPlatform } from './platform';

/**
 * The sum of a metric's samples whose labels include `labels` (every series of it when none are
 * given) in a Prometheus text exposition; 0 when no series matches yet.
 */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) total += Number(match[3]);
  }
  return total;
}

/** The platform's /actuator/prometheus text. */
export async function metricsOf(platform: TestPlatform): Promise<string> {
  return (await platform.http.get('/actuator/prometheus').expect(200)).text;
}
