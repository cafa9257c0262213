import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from './app-error';

export const ROLES = ['audience', 'anchor', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the verified token's role and numeric subject. */
export interface Principal {
  role: Role;
  id: number;
}

export interface TokenService {
  sign(principal: Principal, ttlSeconds?: number): Promise<string>;
  verify(token: string): Promise<Principal>;
}

const ALGORITHM = 'HS256';

function unauthenticated(detail: string): AppError {
  return new AppError('UNAUTHENTICATED', 401, detail, { headers: { 'WWW-Authenticate': 'Bearer' } });
}

export function createTokenService(secret: string): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(principal, ttlSeconds) {
      const jwt = new SignJWT({ role: principal.role })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(String(principal.id))
        .setIssuedAt();
      if (ttlSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
      return jwt.sign(key);
    },
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM] }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired.');
        throw unauthenticated('The token is not valid.');
      }
      const role = payload['role'];
      const sub = payload.sub;
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
        throw unauthenticated('The token has no valid role.');
      }
      if (typeof sub !== 'string' || !/^(0|[1-9]\d{0,15})$/.test(sub) || !Number.isSafeInteger(Number(sub))) {
        throw unauthenticated('The token subject must be a numeric id.');
      }
      return { role: role as Role, id: Number(sub) };
    },
  };
}

/** Reads `Authorization: Bearer <jwt>`; returns null when the header is absent. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header === '') return null;
  const match = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/.exec(header.trim());
  if (!match?.[1]) throw unauthenticated('Authorization must be "Bearer <token>".');
  return match[1];
}

export function requireAuthenticated(principal: Principal | null): Principal {
  if (!principal) throw unauthenticated('A bearer token is required.');
  return principal;
}

export type Subject = { anchorId: number } | { audienceId: number };

/**
 * Own-id rule of API.md: admin may act for anyone; an anchor or a viewer only for itself;
 * `service` may act for any viewer (a trusted front end), never for an anchor.
 */
export function mayActFor(principal: Principal, subject: Subject): boolean {
  if (principal.role === 'admin') return true;
  if ('audienceId' in subject) {
    if (principal.role === 'service') return true;
    return principal.role === 'audience' && principal.id === subject.audienceId;
  }
  return principal.role === 'anchor' && principal.id === subject.anchorId;
}

export function assertMayActFor(principal: Principal | null, subject: Subject): void {
  if (!mayActFor(requireAuthenticated(principal), subject)) {
    throw AppError.forbidden('You may act only on your own account.');
  }
}
