import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap growing factor (`--heap-growing-percent`), as HEAP_GROWTH_PERCENT sets it: after a full
 * GC the old generation may grow to (1 + percent/100)× what stayed live before the next one — a
 * fixed factor in place of V8's own, which it picks between 1.1× and 4× by GC speed and memory
 * pressure and which reached 4× under the bench's load (a ~50 MB live heap grew to ~220 MB with the
 * young generation, most of the service's RSS). V8 reads the flag whenever it sizes the heap after a
 * GC, so setting it at start, before the platform is built, acts as the command-line flag would
 * (NODE_OPTIONS does not accept it). 0 leaves V8's heuristic alone.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
