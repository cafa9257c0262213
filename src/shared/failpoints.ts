import { writeSync } from 'node:fs';
import { ConfigError } from './config';

/**
 * Failpoints: named places in the real code where a test makes the process die (SIGKILL itself),
 * fail (throw) or stop (hang), to prove what a crash or a failure at exactly that place leaves
 * behind — the way FoundationDB's buggify and Rust's `fail` crate do it.
 *
 * Only a test arms them, through the environment of the process it starts:
 *
 *   FAILPOINTS="reward.beforeCommit=kill;sync.afterClaim=1*throw;flush.afterSnapshot=2*off->kill"
 *
 * Each point takes a chain of terms `[P%][N*]action` joined by `->`: the first term whose count is
 * not used up decides, it fires with probability P (100 % when omitted) and each firing uses one of
 * its N (unlimited when omitted). Actions: `kill` (SIGKILL, nothing runs after it), `throw` (a
 * `FailpointError` shaped like a lost database connection, the failure each point stands for, so
 * callers answer 503 and roll back as they would then), `hang` (never resolves), `off` (passes).
 *
 * The entry points (main.ts, cli.ts) read the variable once at start and call `armFailpoints`;
 * an unknown point or action is a start-up error like a bad setting, and production refuses it.
 * It is not part of Config: Config is the documented production surface (`cli config`), and a
 * failpoint is a test's instrument, not a setting; nor is it passed down as a dependency, since the
 * points sit deep in repositories and services whose callers should not grow a parameter for it.
 *
 * Unarmed, `failpoint` is an empty function (it is swapped for the armed one only when something is
 * armed), so `await failpoint(name)` costs one call and one await of `undefined` on the hot path.
 */
export const FAILPOINT_NAMES = [
  /** Inside the reward writer's DB1 transaction, right after the INSERT. */
  'reward.afterInsert',
  /** Inside the reward writer's DB1 transaction, after the consumption UPDATE, before COMMIT. */
  'reward.beforeCommit',
  /** The reward is committed; its room has not been notified. */
  'reward.afterCommit',
  /** A sync batch is claimed (CLAIMED in DB1); finance has not been called. */
  'sync.afterClaim',
  /** Finance committed the batch's settlement; the rewards are not marked SYNCED yet. */
  'sync.afterFinanceCommit',
  /** Inside finance's DB2 transaction, every detail and balance written, before COMMIT. */
  'settlement.beforeCommit',
  /** A room's pending delta is moved aside in Redis as a flush snapshot; DB1 is untouched. */
  'flush.afterSnapshot',
  /** DB1 committed the snapshot (last_flush_id advanced); Redis still holds it, unacknowledged. */
  'flush.afterDb1Commit',
  /** The refund is committed in DB1 (REFUNDED, out of consumption); the room, the boards and finance have not heard of it. */
  'refund.afterCommit',
  /** Inside finance's DB2 transaction of a refund, the reversal written, before COMMIT. */
  'refund.beforeCommit',
] as const;

export type FailpointName = (typeof FAILPOINT_NAMES)[number];

const ACTIONS = ['kill', 'throw', 'hang', 'off'] as const;
type FailpointAction = (typeof ACTIONS)[number];

interface Term {
  action: FailpointAction;
  /** 0 < probability <= 1. */
  probability: number;
  /** Firings left; Infinity when the term never wears out. */
  remaining: number;
}

/** What `throw` throws: callers see a dependency whose connection broke (mysql2's code), and nothing else. */
export class FailpointError extends Error {
  readonly code = 'PROTOCOL_CONNECTION_LOST';
  readonly fatal = true;

  constructor(readonly failpoint: FailpointName) {
    super(`failpoint ${failpoint}: failed on purpose`);
    this.name = 'FailpointError';
  }
}

function notArmed(_name: FailpointName): Promise<never> | undefined {
  return undefined;
}

/**
 * The named point: passes (returns undefined) unless a test armed it. Call it as
 * `await failpoint('reward.beforeCommit')`: `hang` returns a promise that never settles. Assigned
 * again only by armFailpoints, at start, so the unarmed path stays an empty function.
 */
export let failpoint: (name: FailpointName) => Promise<never> | undefined = notArmed;

const TERM = /^(?:(\d+(?:\.\d+)?)%)?(?:(\d+)\*)?([a-z]+)$/;

function parseTerm(point: string, text: string, problems: string[]): Term | null {
  const match = TERM.exec(text.trim());
  const action = match?.[3] as FailpointAction | undefined;
  if (!match || !action || !(ACTIONS as readonly string[]).includes(action)) {
    problems.push(`FAILPOINTS: ${point}: "${text}" is not [P%][N*]action with action one of ${ACTIONS.join(', ')}`);
    return null;
  }
  const percent = match[1] === undefined ? 100 : Number(match[1]);
  const count = match[2] === undefined ? Infinity : Number(match[2]);
  if (!(percent > 0 && percent <= 100) || count === 0) {
    problems.push(`FAILPOINTS: ${point}: "${text}" needs 0 < P <= 100 and N >= 1`);
    return null;
  }
  return { action, probability: percent / 100, remaining: count };
}

/** Parses a FAILPOINTS value; every problem is collected, as loadConfig does. */
export function parseFailpoints(spec: string): Map<FailpointName, Term[]> {
  const problems: string[] = [];
  const armed = new Map<FailpointName, Term[]>();
  const named = new Set<string>();
  for (const entry of spec
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [name = '', chain, ...rest] = entry.split('=');
    const point = name.trim();
    if (!(FAILPOINT_NAMES as readonly string[]).includes(point)) {
      problems.push(`FAILPOINTS: unknown failpoint "${point}"; known: ${FAILPOINT_NAMES.join(', ')}`);
      continue;
    }
    if (chain === undefined || rest.length > 0) {
      problems.push(`FAILPOINTS: "${entry}" must be name=action`);
      continue;
    }
    if (named.has(point)) {
      problems.push(`FAILPOINTS: ${point} is armed twice`);
      continue;
    }
    named.add(point);
    const terms = chain.split('->').map((text) => parseTerm(point, text, problems));
    if (terms.every((term): term is Term => term !== null)) armed.set(point as FailpointName, terms);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return armed;
}

/** Where a struck point says so: `failpoint <name>: <action>` on stderr. */
export type Announce = (line: string) => void;

/** Written synchronously, before the point acts: a kill follows. */
function toStderr(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr closed or full: the point still acts.
  }
}

function strike(armed: ReadonlyMap<FailpointName, Term[]>, name: FailpointName, announce: Announce): Promise<never> | undefined {
  const term = armed.get(name)?.find((t) => t.remaining > 0);
  if (!term || (term.probability < 1 && Math.random() >= term.probability)) return undefined;
  term.remaining -= 1;
  if (term.action === 'off') return undefined;
  announce(`failpoint ${name}: ${term.action}`);
  if (term.action === 'throw') throw new FailpointError(name);
  if (term.action === 'kill') process.kill(process.pid, 'SIGKILL');
  // hang, and a kill whose signal is still on its way: nothing after this point runs.
  return new Promise<never>(() => undefined);
}

/**
 * Arms the points named in `spec` (the FAILPOINTS variable, read once by the entry point). Returns
 * the names armed. Refused in production and for unknown names or actions (a ConfigError).
 */
export function armFailpoints(spec: string | undefined, env: string, announce: Announce = toStderr): FailpointName[] {
  if (spec === undefined || spec.trim() === '') return [];
  if (env === 'production') throw new ConfigError(['FAILPOINTS: failpoints are for tests; production refuses them']);
  const armed = parseFailpoints(spec);
  if (armed.size > 0) failpoint = (name) => strike(armed, name, announce);
  return [...armed.keys()];
}
