import type { NextFunction, Request, RequestHandler, Response } from 'express';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { AppError, type FieldProblem } from './app-error';
import { bodyDiscarder, bodyReader } from './body-reader';
import { loneSurrogateField } from './lone-surrogates';
import { bearerToken, requireAuthenticated, type Principal, type Role, type TokenService } from './auth';
import { zodProblems } from './problem';
import { problemSchema } from './schemas';
import { generateTraceId, runWithTrace } from '../trace';
import { adoptTraceId } from './trace-middleware';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The verified caller; null on public routes. */
  principal: Principal | null;
  req: Request;
  res: Response;
}

/** What a handler answers; a handler that streams writes to `res` itself and returns nothing. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, B extends z.ZodType | undefined> {
  method: Method;
  /** OpenAPI-style path below the module prefix, e.g. `/live-rooms/{liveRoomId}/start`. */
  path: string;
  summary: string;
  description?: string;
  /** `public`, or the roles that may call it (own-id checks happen in the use case). */
  access: 'public' | readonly Role[];
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /**
   * The body's `traceId` names the request when the client sent no `X-Trace-Id` (a reward): taken
   * as soon as the body is read, so even a 401 or 403 carries it.
   */
  traceIdFromBody?: boolean;
  handle(ctx: RouteContext<Out<P>, Out<Q>, Out<B>>): Promise<RouteResult | void>;
}

/** A route in a list, its context types widened (`handle` is a method, so it stays assignable). */
export type AnyRoute = RouteSpec<z.ZodObject | undefined, z.ZodObject | undefined, z.ZodType | undefined>;

/** Identity function that lets TypeScript infer a route's parameter, query and body types. */
export function route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec;
}

export interface RouteGroup {
  prefix: string;
  tag: string;
  routes: AnyRoute[];
}

/** Which methods exist for which path shape: answers 405 with `Allow` instead of 404. */
export class RouteTable {
  private readonly entries: Array<{ method: string; pattern: RegExp }> = [];

  add(method: Method, fullPath: string): void {
    const source = fullPath
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    this.entries.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`) });
  }

  allowedMethods(path: string): string[] {
    const methods = new Set(this.entries.filter((e) => e.pattern.test(path)).map((e) => e.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}

/**
 * Runs a route's handlers in turn as express would (an error or a rejected promise goes to `done`,
 * the express chain's error handling; a handler that answers without calling next ends it).
 */
function runChain(chain: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let index = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined && error !== null) {
      done(error);
      return;
    }
    const handler = chain[index];
    index += 1;
    if (!handler) {
      done();
      return;
    }
    try {
      const returned: unknown = handler(req, res, next);
      if (returned instanceof Promise) returned.catch((rejection: unknown) => next(rejection ?? new Error('Rejected promise')));
    } catch (thrown) {
      next(thrown);
    }
  };
  next();
}

/** A path segment that is not valid percent-encoding, as a placeholder that is. */
function withValidSegments(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        decodeURIComponent(segment);
        return segment;
      } catch {
        return '0';
      }
    })
    .join('/');
}

/**
 * The API's routes in a radix tree (find-my-way, fastify's router): one lookup per request, where
 * express's router tried each route's pattern in turn (some sixty before a reward's, ~5 % of a
 * reward's CPU). As express does: a trailing slash is ignored, paths are case-sensitive, HEAD is
 * served by the GET route, parameters are decoded (bad percent-encoding in one is 400), and a path
 * no route takes goes on down the express chain (405 or 404). An empty parameter matches nothing.
 */
export class RouteDispatch {
  private readonly router = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });
  private readonly served: Array<{ method: HTTPMethod; path: string; treePath: string }> = [];

  add(method: Method, fullPath: string, chain: readonly RequestHandler[]): void {
    const route = { method: method.toUpperCase() as HTTPMethod, path: fullPath, treePath: fullPath.replace(/\{([^}]+)\}/g, ':$1') };
    this.router.on(route.method, route.treePath, () => undefined, chain);
    this.served.push(route);
  }

  /** Every route served, as registered (`GET /live-rooms/{liveRoomId}`), each checked to be found by the tree. */
  routes(): Array<{ method: string; path: string }> {
    return this.served.filter((route) => this.router.hasRoute(route.method, route.treePath)).map(({ method, path }) => ({ method, path }));
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const method = (req.method === 'HEAD' ? 'GET' : req.method) as HTTPMethod;
      const found = this.router.find(method, req.url);
      if (!found) {
        const [path = ''] = req.url.split('?');
        const repaired = withValidSegments(path);
        // Express matched such a path and then failed to decode its parameter: the client's error.
        if (repaired !== path && this.router.find(method, repaired)) next(new URIError('bad percent-encoding in a path parameter'));
        else next();
        return;
      }
      if (Object.values(found.params).some((value) => value === '')) {
        next();
        return;
      }
      req.params = found.params as Request['params'];
      runChain(found.store as readonly RequestHandler[], req, res, next);
    };
  }
}

export interface MountOptions {
  tokens: TokenService;
  bodyLimit: string;
  openapi: OpenAPIRegistry;
  table: RouteTable;
  dispatch: RouteDispatch;
}

function parsePart<S extends z.ZodType | undefined>(schema: S, value: unknown, root: string | undefined, problems: FieldProblem[]): Out<S> {
  if (!schema) return undefined as Out<S>;
  const result = schema.safeParse(value);
  if (result.success) return result.data as Out<S>;
  problems.push(...zodProblems(result.error, root));
  return undefined as Out<S>;
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; error: AppError };

function parseJsonBody(req: Request): ParsedBody {
  const text = typeof req.body === 'string' ? req.body : '';
  if (text.trim() === '') return { ok: true, value: undefined };
  if (!req.is(['application/json', 'application/*+json'])) {
    return { ok: false, error: new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'Send the body as application/json.') };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: AppError.validation([{ field: 'body', message: 'The body is not valid JSON.' }], 'The body is not valid JSON.'),
    };
  }
  const broken = loneSurrogateField(text, value);
  if (broken !== null)
    return { ok: false, error: AppError.validation([{ field: broken, message: 'is not valid Unicode: it holds a lone surrogate' }]) };
  return { ok: true, value };
}

/** The request body as JSON, parsed once per request (the trace-id step may have parsed it already). */
function jsonBodyOf(req: Request, res: Response): ParsedBody {
  const cached = res.locals['jsonBody'] as ParsedBody | undefined;
  if (cached) return cached;
  const parsed = parseJsonBody(req);
  res.locals['jsonBody'] = parsed;
  return parsed;
}

function readJsonBody(req: Request, res: Response): unknown {
  const parsed = jsonBodyOf(req, res);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/** Adopts the body's `traceId` as the request's trace id (see RouteSpec.traceIdFromBody). */
const traceIdFromBody: RequestHandler = (req, res, next) => {
  const parsed = jsonBodyOf(req, res);
  const value = parsed.ok ? parsed.value : undefined;
  const traceId = adoptTraceId(res, typeof value === 'object' && value !== null ? (value as { traceId?: unknown }).traceId : undefined);
  if (traceId) runWithTrace({ traceId }, () => next());
  else next();
};

function authenticate(spec: AnyRoute, tokens: TokenService): (req: Request) => Promise<Principal | null> {
  if (spec.access === 'public') return () => Promise.resolve(null);
  const allowed = spec.access;
  return async (req) => {
    const token = bearerToken(req.get('authorization'));
    const principal = requireAuthenticated(token === null ? null : await tokens.verify(token));
    if (!allowed.includes(principal.role)) throw AppError.forbidden(`The ${principal.role} role may not call this endpoint.`);
    return principal;
  };
}

/** Verifies the caller and keeps it in `res.locals.principal` for the handler. */
function authenticationFor(spec: AnyRoute, tokens: TokenService): RequestHandler {
  const authenticateCaller = authenticate(spec, tokens);
  return async (req, res, next) => {
    res.locals['principal'] = await authenticateCaller(req);
    next();
  };
}

export function principalOf(res: Response): Principal | null {
  return (res.locals['principal'] as Principal | null | undefined) ?? null;
}

/** What res.json does, without its generic send path (no ETag, no charset sniffing): the API's bodies are always JSON. */
function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function handlerFor(spec: AnyRoute): RequestHandler {
  return (req, res) => {
    // Body parsing runs on stream callbacks that lose AsyncLocalStorage; re-enter the request's trace.
    const traceId = typeof res.locals['traceId'] === 'string' ? res.locals['traceId'] : generateTraceId();
    return runWithTrace({ traceId }, () => handle(req, res));
  };

  async function handle(req: Request, res: Response): Promise<void> {
    const principal = principalOf(res);
    const problems: FieldProblem[] = [];
    const params = parsePart(spec.params, req.params, undefined, problems);
    const query = parsePart(spec.query, req.query, undefined, problems);
    const body = spec.body ? parsePart(spec.body, readJsonBody(req, res), undefined, problems) : undefined;
    if (problems.length > 0) throw AppError.validation(problems);
    const result = await spec.handle({ params, query, body, principal, req, res });
    if (!result) return;
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    if (result.body === undefined) res.status(result.status).end();
    else sendJson(res, result.status, result.body);
  }
}

function registerDocumentation(spec: AnyRoute, fullPath: string, tag: string, registry: OpenAPIRegistry): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = response.schema
      ? { description: response.description, content: { [response.contentType ?? 'application/json']: { schema: response.schema } } }
      : { description: response.description };
  }
  const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });
  if (spec.params || spec.query || spec.body) responses['400'] ??= problem('The request is not valid (VALIDATION_FAILED).');
  if (spec.params) responses['404'] ??= problem('No such resource (a *_NOT_FOUND code).');
  if (spec.access !== 'public') {
    responses['401'] ??= problem('No valid bearer token (UNAUTHENTICATED).');
    responses['403'] ??= problem('The caller may not do this (FORBIDDEN).');
  }
  const request: RouteConfig['request'] = {};
  if (spec.params) request.params = spec.params;
  if (spec.query) request.query = spec.query;
  if (spec.body) request.body = { required: true, content: { 'application/json': { schema: spec.body } } };
  registry.registerPath({
    method: spec.method,
    path: fullPath,
    summary: spec.summary,
    description: spec.description,
    tags: [tag],
    security: spec.access === 'public' ? [] : [{ bearerAuth: [] }],
    // The roles a token must have: clients and the authorisation tests read them from the document.
    'x-roles': spec.access === 'public' ? [] : [...spec.access],
    request,
    responses,
  });
}

export function mountRouteGroup(group: RouteGroup, options: MountOptions): void {
  const readBody = bodyReader(options.bodyLimit);
  const discardBody = bodyDiscarder(options.bodyLimit);
  for (const spec of group.routes) {
    const fullPath = `${group.prefix}${spec.path}`;
    const markRoute: RequestHandler = (_req, res, next) => {
      res.locals['routeTemplate'] = fullPath;
      next();
    };
    const chain: RequestHandler[] = [markRoute];
    chain.push(spec.body ? readBody : discardBody);
    if (spec.body && spec.traceIdFromBody) chain.push(traceIdFromBody);
    chain.push(authenticationFor(spec, options.tokens), handlerFor(spec));
    options.dispatch.add(spec.method, fullPath, chain);
    options.table.add(spec.method, fullPath);
    registerDocumentation(spec, fullPath, group.tag, options.openapi);
  }
}
