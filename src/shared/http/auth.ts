import { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import { AppError } from './app-error';

/**
 * Who may call (API.md, "Auth"): `audience` and `anchor` act on their own ids; `admin` on everything
 * but the internal endpoints; `service` is a trusted front end acting for any viewer; `internal` is
 * module-to-module only and is the one role the internal endpoints accept.
 */
export const ROLES = ['audience', 'anchor', 'admin', 'service', 'internal'] as const;
export type Role = (typeof ROLES)[number];

/** The internal endpoints (module-to-module calls) accept this role and no other. */
export const INTERNAL_ONLY: readonly Role[] = ['internal'];

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

/** Verified tokens kept, so a client's every request does not pay for an HMAC (expiry still honoured). */
const VERIFIED_CACHE_SIZE = 20_000;
/** A token without `exp` is re-verified after this long anyway. */
const VERIFIED_CACHE_TTL_MS = 5 * 60_000;

export function createTokenService(secret: string): TokenService {
  const raw = new TextEncoder().encode(secret);
  // Imported once: handing jose the raw bytes makes it import the key again on every call.
  const key = webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const verified = new LRUCache<string, Principal>({ max: VERIFIED_CACHE_SIZE, ttl: VERIFIED_CACHE_TTL_MS, ttlAutopurge: false });

  async function verifyUncached(token: string): Promise<{ principal: Principal; expiresAtMs: number | null }> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await key, { algorithms: [ALGORITHM] }));
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
    return { principal: { role: role as Role, id: Number(sub) }, expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : null };
  }

  return {
    async sign(principal, ttlSeconds) {
      const jwt = new SignJWT({ role: principal.role })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(String(principal.id))
        .setIssuedAt();
      if (ttlSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
      return jwt.sign(await key);
    },
    async verify(token) {
      const cached = verified.get(token);
      if (cached) return cached;
      const { principal, expiresAtMs } = await verifyUncached(token);
      const ttl = expiresAtMs === null ? VERIFIED_CACHE_TTL_MS : Math.min(VERIFIED_CACHE_TTL_MS, expiresAtMs - Date.now());
      if (ttl > 0) verified.set(token, principal, { ttl });
      return principal;
    },
  };
}

/** Reads `Authorization: Bearer <jwt>`; returns null when the header is absent. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header === '') return null;
  // The scheme name is case-insensitive (RFC 9110, 11.1); the token is not.
  const match = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i.exec(header.trim());
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
 * `service` may act for any viewer (a trusted front end), never for an anchor; `internal` for no
 * one (it calls only the internal endpoints, which take no own-id check).
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
