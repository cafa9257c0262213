import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/shared/config';
import { isDatabaseUnavailable } from '../../src/shared/db/failures';
import { armFailpoints, FAILPOINT_NAMES, FailpointError, failpoint, parseFailpoints } from '../../src/shared/failpoints';

/** The failpoints' own rules; what a point does to the real process is proven by the crash tests (test/e2e, test/integration). */

/** What the armed points announced (instead of stderr). */
const announced: string[] = [];
const arm = (spec: string) => armFailpoints(spec, 'test', (line) => announced.push(line));

function problemsOf(spec: string, env = 'test'): string[] {
  try {
    armFailpoints(spec, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected FAILPOINTS=${spec} to be refused`);
}

/** What each of `calls` hits of the point does: `pass`, `throw`, or `hang` (a promise that has not settled 20 ms later). */
async function outcomes(name: (typeof FAILPOINT_NAMES)[number], calls: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < calls; i += 1) {
    try {
      const pending = failpoint(name);
      if (pending === undefined) {
        seen.push('pass');
        continue;
      }
      const settled = await Promise.race([pending.then(() => 'settled'), new Promise((r) => setTimeout(() => r('hang'), 20))]);
      seen.push(String(settled));
    } catch (error) {
      seen.push(error instanceof FailpointError ? 'throw' : `other: ${String(error)}`);
    }
  }
  return seen;
}

describe('arming failpoints', () => {
  it('when nothing is armed, then every point passes: the call returns undefined', () => {
    for (const name of FAILPOINT_NAMES) expect(failpoint(name)).toBeUndefined();
  });

  it('when FAILPOINTS names an unknown point, a bad action, a bad count or probability, or a point twice, then start-up is refused naming each problem', () => {
    expect(
      problemsOf('reward.nope=kill;sync.afterClaim=boom;flush.afterSnapshot=0%kill;sync.afterClaim=kill;settlement.beforeCommit=0*throw'),
    ).toEqual([
      `FAILPOINTS: unknown failpoint "reward.nope"; known: ${FAILPOINT_NAMES.join(', ')}`,
      'FAILPOINTS: sync.afterClaim: "boom" is not [P%][N*]action with action one of kill, throw, hang, off',
      'FAILPOINTS: flush.afterSnapshot: "0%kill" needs 0 < P <= 100 and N >= 1',
      'FAILPOINTS: sync.afterClaim is armed twice',
      'FAILPOINTS: settlement.beforeCommit: "0*throw" needs 0 < P <= 100 and N >= 1',
    ]);
    expect(problemsOf('reward.afterInsert')).toEqual(['FAILPOINTS: "reward.afterInsert" must be name=action']);
  });

  it('when the process runs in production, then any FAILPOINTS is refused', () => {
    expect(problemsOf('reward.afterInsert=off', 'production')).toEqual(['FAILPOINTS: failpoints are for tests; production refuses them']);
  });

  it('when a chain is given, then its terms are parsed in order with their probability and count', () => {
    const armed = parseFailpoints(' sync.afterClaim = 2*off->25%1*throw->hang ; reward.afterCommit=kill');
    expect(armed.get('sync.afterClaim')).toEqual([
      { action: 'off', probability: 1, remaining: 2 },
      { action: 'throw', probability: 0.25, remaining: 1 },
      { action: 'hang', probability: 1, remaining: Infinity },
    ]);
    expect(armed.get('reward.afterCommit')).toEqual([{ action: 'kill', probability: 1, remaining: Infinity }]);
  });
});

describe('an armed point', () => {
  it('when armed 2*off->1*throw, then it passes twice, throws once (an error callers take for a lost database connection), then passes; other points pass', async () => {
    announced.length = 0;
    expect(arm('sync.afterClaim=2*off->1*throw')).toEqual(['sync.afterClaim']);
    expect(await outcomes('sync.afterClaim', 5)).toEqual(['pass', 'pass', 'throw', 'pass', 'pass']);
    expect(await outcomes('sync.afterFinanceCommit', 2)).toEqual(['pass', 'pass']);
    // Only what acts is announced, once each time, before it acts.
    expect(announced).toEqual(['failpoint sync.afterClaim: throw']);
    let thrown: unknown;
    arm('reward.beforeCommit=throw');
    try {
      void failpoint('reward.beforeCommit');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FailpointError);
    expect(isDatabaseUnavailable(thrown)).toBe(true);
  });

  it('when armed 1*hang, then the first hit never settles and the next passes', async () => {
    announced.length = 0;
    arm('flush.afterSnapshot=1*hang');
    expect(await outcomes('flush.afterSnapshot', 2)).toEqual(['hang', 'pass']);
    expect(announced).toEqual(['failpoint flush.afterSnapshot: hang']);
  });

  it('when armed 30%throw, then about 30 of 100 hits throw', async () => {
    arm('flush.afterDb1Commit=30%throw');
    const thrown = (await outcomes('flush.afterDb1Commit', 100)).filter((o) => o === 'throw').length;
    // Binomial(100, 0.3): 30 ± 4.6; the bounds are more than four deviations out.
    expect(thrown).toBeGreaterThanOrEqual(10);
    expect(thrown).toBeLessThanOrEqual(50);
  });
});

describe('the points in the code', () => {
  it('when the source is read, then each listed point is placed exactly once, and no placed point is missing from the list', () => {
    const root = join(__dirname, '../../src');
    const definition = join(root, 'shared/failpoints.ts');
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return sources(path);
        return path.endsWith('.ts') && path !== definition ? [readFileSync(path, 'utf8')] : [];
      });
    const placed = sources(root).flatMap((source) => [...source.matchAll(/await failpoint\('([^']+)'\)/g)].map((match) => match[1]));
    expect([...placed].sort()).toEqual([...FAILPOINT_NAMES].sort());
  });
});
