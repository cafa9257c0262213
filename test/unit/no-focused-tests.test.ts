import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

/**
 * `.ci/no-focused-tests`, CI's guard against a committed `.only` or `.skip`. The forbidden forms
 * are assembled from parts, so that this file does not trip the guard itself.
 */
const SCRIPT = join(__dirname, '..', '..', '.ci', 'no-focused-tests');

function check(...dirs: string[]): { status: number | null; stderr: string } {
  const run = spawnSync('bash', [SCRIPT, ...dirs], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr };
}

const dot = (name: string, modifier: string) => `${name}.${modifier}`;
const FORBIDDEN = [
  `${dot('it', 'only')}('runs alone', () => {});`,
  `${dot('describe', 'only')}('runs alone', () => {});`,
  `${dot('test', 'only')}('runs alone', () => {});`,
  `${dot('it', 'skip')}('never runs', () => {});`,
  `${dot('describe', 'skip')}('never runs', () => {});`,
  `${dot('test', 'skip')}('never runs', () => {});`,
  `${dot(dot('it', 'only'), 'each')}([1])('runs alone %s', () => {});`,
  `${dot(dot('it', 'skip'), 'each')}([1])('never runs %s', () => {});`,
  `${'x'}it('never runs', () => {});`,
  `${'x'}describe('never runs', () => {});`,
  `${'x'}test('never runs', () => {});`,
  `${'f'}it('runs alone', () => {});`,
  `${'f'}describe ('runs alone', () => {});`,
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'no-focused-tests-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the focused and disabled tests guard (.ci/no-focused-tests)', () => {
  it('when the repository test files are checked, then none is focused or disabled', () => {
    expect(check('test')).toEqual({ status: 0, stderr: '' });
  });

  it.each(FORBIDDEN)('when a test file holds %s, then it fails naming the file and line', (line) => {
    writeFileSync(join(dir, 'clean.test.ts'), "it('runs', () => {});\n");
    writeFileSync(join(dir, 'focused.test.ts'), `import { it } from '@jest/globals';\n${line}\n`);
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${join(dir, 'focused.test.ts')}:2:`);
    expect(result.stderr).not.toContain('clean.test.ts');
  });

  it('when tests only look alike (each, names ending in it or test, words in strings), then it passes', () => {
    writeFileSync(
      join(dir, 'alike.test.ts'),
      [
        "it.each([1])('runs %s', () => {});",
        "describe.each([1])('runs %s', () => {});",
        'const limit = submit.only;',
        'latest.skip();',
        "suffix('x');",
        "expect(message).toBe('skip it');",
      ].join('\n'),
    );
    expect(check(dir)).toEqual({ status: 0, stderr: '' });
  });

  it('when a directory to check does not exist, then it fails rather than pass on nothing', () => {
    expect(check(join(dir, 'missing')).status).toBe(2);
  });
});
