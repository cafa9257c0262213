import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { parseDurationSeconds } from '../../src/shared/duration';
import { AppError } from '../../src/shared/http/app-error';
import { createTokenService, mayActFor, ROLES, type Principal, type Role, type Subject } from '../../src/shared/http/auth';
import { generateTraceId, isValidTraceId } from '../../src/shared/trace';

describe('parseDurationSeconds', () => {
  it.each<[string, number]>([
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
    [' 2h ', 7200],
  ])('when the duration is %j, then it is %d seconds', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(['0s', '0d', '1x', 'h', '', '1.5h', '-1h', '1H', '1 h', '1h30m', '1234567890s'])(
    'when the duration is %j, then it is rejected with null',
    (text) => {
      expect(parseDurationSeconds(text)).toBeNull();
    },
  );
});

describe('trace ids', () => {
  const pattern = /^RC-\d{8}-\d{6}-[0-9a-f]{8}$/;

  it('when a trace id is generated with prefix RC, then it is RC-YYYYMMDD-HHMMSS-<8 hex> and a valid trace id', () => {
    const traceId = generateTraceId('RC');

    expect(traceId).toMatch(pattern);
    expect(isValidTraceId(traceId)).toBe(true);
  });

  it("when a trace id is generated for a fixed instant, then it carries that instant's UTC date and time", () => {
    const traceId = generateTraceId('RC', new Date('2026-01-02T10:30:45.999Z'));

    expect(traceId).toMatch(/^RC-20260102-103045-[0-9a-f]{8}$/);
  });

  it('when no prefix is given, then the default prefix TR is used', () => {
    expect(generateTraceId(undefined, new Date('2025-12-31T23:59:59Z'))).toMatch(/^TR-20251231-235959-[0-9a-f]{8}$/);
  });

  it('when many trace ids are generated in the same second, then they are all different', () => {
    const now = new Date('2026-01-02T10:30:45Z');
    const ids = new Set(Array.from({ length: 1000 }, () => generateTraceId('RC', now)));

    expect(ids.size).toBe(1000);
  });

  it.each(['a', 'RC-20260102-103045-001', 'A.b_c-9', 'x'.repeat(64)])('when the trace id is %j, then it is valid', (value) => {
    expect(isValidTraceId(value)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['65 characters', 'x'.repeat(65)],
    ['empty', ''],
    ['a space', 'RC 1'],
    ['a trailing newline', 'RC-1\n'],
    ['a header injection', 'RC-1\r\nSet-Cookie: a=b'],
    ['a slash', 'a/b'],
    ['non-ASCII', 'trace-é'],
    ['a number', 12345],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['RC-1']],
  ])('when the trace id has %s, then it is not valid', (_label, value) => {
    expect(isValidTraceId(value)).toBe(false);
  });
});

const SECRET = 'unit-test-secret-that-is-long-enough-0123';
const tokens = createTokenService(SECRET);

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Signs arbitrary claims with the right secret and algorithm, bypassing the service's typed `sign`. */
function signRaw(claims: Record<string, unknown>, subject?: string): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (subject !== undefined) jwt.setSubject(subject);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

/** Resolves to the rejection reason, failing when verification succeeds. */
async function rejectionOf(token: string): Promise<unknown> {
  try {
    const principal = await tokens.verify(token);
    throw new Error(`expected the token to be rejected, got ${JSON.stringify(principal)}`);
  } catch (error) {
    return error;
  }
}

function expectUnauthenticated(error: unknown): void {
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.status).toBe(401);
  expect(appError.code).toBe('UNAUTHENTICATED');
  expect(appError.headers['WWW-Authenticate']).toBe('Bearer');
}

describe('token service', () => {
  it.each(ROLES)('when a %s token is signed and verified, then the same principal comes back', async (role) => {
    const token = await tokens.sign({ role, id: 42 }, 3600);

    expect(token.split('.')).toHaveLength(3);
    await expect(tokens.verify(token)).resolves.toEqual({ role, id: 42 });
  });

  it('when a token is signed without a ttl, then it still verifies', async () => {
    await expect(tokens.verify(await tokens.sign({ role: 'admin', id: 0 }))).resolves.toEqual({ role: 'admin', id: 0 });
  });

  it('when the token has expired, then verify fails with 401 UNAUTHENTICATED saying so', async () => {
    const error = await rejectionOf(await tokens.sign({ role: 'audience', id: 1 }, -60));

    expectUnauthenticated(error);
    expect((error as AppError).detail).toMatch(/expired/i);
  });

  it('when the token was signed with a different secret, then verify fails with 401', async () => {
    const foreign = await createTokenService('another-secret-that-is-long-enough-9876').sign({ role: 'admin', id: 1 }, 3600);

    expectUnauthenticated(await rejectionOf(foreign));
  });

  it('when the payload of a valid token is altered (audience -> admin), then verify fails with 401', async () => {
    const [header, , signature] = (await tokens.sign({ role: 'audience', id: 7 }, 3600)).split('.');
    const forged = `${header}.${base64url({ role: 'admin', sub: '7', iat: Math.floor(Date.now() / 1000) })}.${signature}`;

    expectUnauthenticated(await rejectionOf(forged));
  });

  it('when the token is unsigned with alg "none", then verify fails with 401', async () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ role: 'admin', sub: '1' })}.`;

    expectUnauthenticated(await rejectionOf(unsigned));
  });

  it.each(['', 'not-a-jwt', 'a.b.c', 'Bearer x.y.z'])('when the token is garbage (%j), then verify fails with 401', async (garbage) => {
    expectUnauthenticated(await rejectionOf(garbage));
  });

  it.each<[string, Record<string, unknown>]>([
    ['a role outside the four', { role: 'superuser' }],
    ['an upper-case role', { role: 'ADMIN' }],
    ['no role', {}],
    ['a non-string role', { role: ['admin'] }],
  ])('when the token carries %s, then verify fails with 401', async (_label, claims) => {
    expectUnauthenticated(await rejectionOf(await signRaw(claims, '1')));
  });

  it.each<[string, string | undefined]>([
    ['a non-numeric sub', 'alice'],
    ['a negative sub', '-1'],
    ['a fractional sub', '1.5'],
    ['a sub with a leading zero', '007'],
    ['an empty sub', ''],
    ['no sub', undefined],
  ])('when the token has %s, then verify fails with 401', async (_label, subject) => {
    expectUnauthenticated(await rejectionOf(await signRaw({ role: 'audience' }, subject)));
  });

  // 16 digits pass the pattern, but 9007199254740993 would be read as the principal 9007199254740992.
  it('when the sub is beyond Number.MAX_SAFE_INTEGER, then verify fails with 401 instead of rounding the id', async () => {
    expectUnauthenticated(await rejectionOf(await signRaw({ role: 'audience' }, '9007199254740993')));
  });
});

describe('mayActFor', () => {
  const other = 8;
  const self = 7;
  const principal = (role: Role, id = self): Principal => ({ role, id });
  const cases: Array<[Role, Subject, boolean]> = [
    ['admin', { anchorId: self }, true],
    ['admin', { anchorId: other }, true],
    ['admin', { audienceId: other }, true],
    ['service', { audienceId: self }, true],
    ['service', { audienceId: other }, true],
    ['service', { anchorId: self }, false],
    ['service', { anchorId: other }, false],
    ['anchor', { anchorId: self }, true],
    ['anchor', { anchorId: other }, false],
    ['anchor', { audienceId: self }, false],
    ['anchor', { audienceId: other }, false],
    ['audience', { audienceId: self }, true],
    ['audience', { audienceId: other }, false],
    ['internal', { audienceId: self }, false],
    ['internal', { audienceId: other }, false],
    ['internal', { anchorId: self }, false],
    ['audience', { anchorId: self }, false],
    ['audience', { anchorId: other }, false],
  ];

  it.each(cases)(`when a %s with id ${self} acts for %j, then it is allowed: %p`, (role, subject, allowed) => {
    expect(mayActFor(principal(role), subject)).toBe(allowed);
  });

  it('when the matrix is checked, then it covers every role', () => {
    expect(new Set(cases.map(([role]) => role))).toEqual(new Set(ROLES));
  });
});
