import { fieldPath } from './problem';

/** In `u` mode a surrogate pair is one code point, so only an unpaired half matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** Cheap test on the raw text first: no surrogate and no surrogate escape, nothing to walk. */
const MAY_HOLD_SURROGATE = /[\uD800-\uDFFF]|\\u[dD][89a-fA-F]/;

/** Deeper than any request schema: such a path is reported as the body, not echoed level by level. */
const DEEPEST_REPORTED_PATH = 16;

interface Visit {
  value: unknown;
  key: string | number | null;
  parent: number;
}

function fieldOf(visits: readonly Visit[], index: number): string {
  const path: Array<string | number> = [];
  for (let at = index; at >= 0 && visits[at]!.key !== null; at = visits[at]!.parent) path.unshift(visits[at]!.key!);
  return path.length > DEEPEST_REPORTED_PATH ? 'body' : fieldPath(path);
}

/**
 * The field (as problem+json names it) of the first string or key in parsed JSON that holds a lone
 * surrogate, else null. `"\ud800"` is valid JSON but not text: the database would store U+FFFD in
 * its place and the client would get back something else than it sent. Iterative, with parent
 * links, so a deeply nested body costs linear time and no stack.
 */
export function loneSurrogateField(text: string, value: unknown): string | null {
  if (!MAY_HOLD_SURROGATE.test(text)) return null;
  const visits: Visit[] = [{ value, key: null, parent: -1 }];
  for (let index = 0; index < visits.length; index += 1) {
    const current = visits[index]!.value;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) return fieldOf(visits, index);
    } else if (typeof current === 'object' && current !== null) {
      const isArray = Array.isArray(current);
      for (const [key, child] of Object.entries(current)) {
        visits.push({ value: child, key: isArray ? Number(key) : key, parent: index });
        if (LONE_SURROGATE.test(key)) return fieldOf(visits, visits.length - 1);
      }
    }
  }
  return null;
}
