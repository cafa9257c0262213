import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { createTestPlatform, type TestPlatform } from '../support/platform';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, { description: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], Operation>>>;
  components: {
    schemas: Record<string, { type?: string; properties?: Record<string, unknown>; required?: string[] }>;
    securitySchemes: Record<string, { type: string; scheme?: string; bearerFormat?: string }>;
  };
}

let t: TestPlatform;
let doc: OpenApiDocument;

beforeAll(async () => {
  t = await createTestPlatform();
  doc = (await t.http.get('/openapi.json').expect(200)).body as OpenApiDocument;
});

afterAll(async () => {
  await t.close();
});

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** Every route the platform mounts, from its modules, with whether it needs a token. */
function mountedRoutes(): Array<{ key: string; path: string; method: string; isPublic: boolean }> {
  const moduleRoutes = t.modules.flatMap((m) =>
    m.routes.flatMap((group) =>
      group.routes.map((r) => ({
        key: key(r.method, `${group.prefix}${r.path}`),
        path: `${group.prefix}${r.path}`,
        method: r.method,
        isPublic: r.access === 'public',
      })),
    ),
  );
  const systemPaths = ['/health', ...t.modules.flatMap((m) => (m.health ? [m.health.path] : [])), '/actuator/prometheus', '/openapi.json'];
  const systemRoutes = systemPaths.map((path) => ({ key: key('get', path), path, method: 'get', isPublic: true }));
  return [...systemRoutes, ...moduleRoutes];
}

function documentedOperations(): Array<{ key: string; path: string; method: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ key: key(method, path), path, method, operation }] : [];
    }),
  );
}

/** Routes express actually serves (its router stack), as OpenAPI paths. */
/** Every route the app serves (its route tree), but the operators' page, which is not part of the API. */
function servedRoutes(): string[] {
  const served = (t.app.locals['servedRoutes'] as () => Array<{ method: string; path: string }>)();
  return served.filter((route) => !route.path.startsWith('/dashboard')).map((route) => key(route.method, route.path));
}

describe('the OpenAPI document', () => {
  it('when /openapi.json is read, then it is an OpenAPI 3.1 document with a bearer JWT scheme', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.components.securitySchemes['bearerAuth']).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('when the mounted routes are listed from the modules, then the document has exactly those paths and methods', () => {
    const expected = mountedRoutes().map((r) => r.key);
    expect(new Set(expected).size).toBe(expected.length);
    expect(expected).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /anchor/actuator/health',
        'POST /anchor/api/v1/anchors',
        'POST /audience/api/v1/audiences',
      ]),
    );
    expect(
      documentedOperations()
        .map((o) => o.key)
        .sort(),
    ).toEqual([...expected].sort());
  });

  it('when the routes the app serves are listed from its route tree, then every one of them is documented', () => {
    const served = servedRoutes();
    expect(served.length).toBeGreaterThan(0);
    expect([...new Set(served)].sort()).toEqual(
      documentedOperations()
        .map((o) => o.key)
        .sort(),
    );
  });

  it('when a route is protected, then it declares bearerAuth security and 401/403; when public, then no security', () => {
    const operations = new Map(documentedOperations().map((o) => [o.key, o.operation]));
    for (const route of mountedRoutes()) {
      const operation = operations.get(route.key);
      expect({ route: route.key, documented: operation !== undefined }).toEqual({ route: route.key, documented: true });
      if (route.isPublic) {
        expect({ route: route.key, security: operation?.security ?? [] }).toEqual({ route: route.key, security: [] });
      } else {
        expect({ route: route.key, security: operation?.security }).toEqual({ route: route.key, security: [{ bearerAuth: [] }] });
        expect({ route: route.key, codes: Object.keys(operation?.responses ?? {}) }).toEqual({
          route: route.key,
          codes: expect.arrayContaining(['401', '403']),
        });
      }
    }
  });

  it('when an operation documents a 4xx response, then it is application/problem+json referencing the Problem schema', () => {
    let fourXx = 0;
    for (const { key: name, operation } of documentedOperations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^4\d\d$/.test(status)) continue;
        fourXx += 1;
        expect({ name, status, ref: response.content?.['application/problem+json']?.schema?.$ref }).toEqual({
          name,
          status,
          ref: '#/components/schemas/Problem',
        });
      }
    }
    expect(fourXx).toBeGreaterThan(10);
    const problem = doc.components.schemas['Problem'];
    expect(Object.keys(problem?.properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'traceId', 'errors']),
    );
    expect(problem?.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']));
  });

  it('when a path has {placeholders}, then each is declared as a required path parameter', () => {
    for (const { key: name, path, operation } of documentedOperations()) {
      const placeholders = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path' && p.required === true).map((p) => p.name);
      expect({ name, declared: declared.sort() }).toEqual({ name, declared: placeholders.sort() });
    }
  });
});

describe('the docs page', () => {
  it('when /docs is opened, then it serves the Swagger UI HTML whose scripts are all external files that load', async () => {
    const redirect = await t.http.get('/docs');
    expect([200, 301, 302]).toContain(redirect.status);
    const page = await t.http.get('/docs/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('swagger-ui');

    const scripts = [...page.text.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const attributes of scripts) {
      const src = /\bsrc="([^"]+)"/.exec(attributes)?.[1];
      expect({ attributes, src: typeof src }).toEqual({ attributes, src: 'string' });
      await t.http.get(new URL(src!, 'http://x/docs/').pathname).expect(200);
    }
    const init = await t.http.get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/openapi.json');
  });

  it("when /docs is served, then its Content-Security-Policy differs from the API's, which keeps helmet's default", async () => {
    const reference = express().use(helmet());
    reference.get('/', (_req, res) => void res.send('ok'));
    const helmetDefault = (await request(reference).get('/')).headers['content-security-policy'];
    expect(helmetDefault).toEqual(expect.stringContaining("script-src 'self'"));

    const docsPolicy = (await t.http.get('/docs/').expect(200)).headers['content-security-policy'];
    expect(docsPolicy).toEqual(expect.any(String));
    expect(docsPolicy).not.toBe(helmetDefault);

    for (const path of ['/openapi.json', '/health', '/anchor/api/v1/live-rooms/1', '/no/such/route']) {
      const res = await t.http.get(path);
      expect({ path, csp: res.headers['content-security-policy'], serverError: res.status >= 500 }).toEqual({
        path,
        csp: helmetDefault,
        serverError: false,
      });
    }
  });

  it("when any API route answers, then it carries every one of helmet's default headers with helmet's values", async () => {
    const reference = express().use(helmet());
    reference.get('/', (_req, res) => void res.send('ok'));
    const expected = (await request(reference).get('/')).headers;
    const securityHeaders = Object.keys(expected).filter((name) =>
      /^(content-security-policy|cross-origin-|origin-agent-cluster|referrer-policy|strict-transport-security|x-)/.test(name),
    );
    expect(securityHeaders.length).toBeGreaterThanOrEqual(10);
    for (const path of ['/health', '/anchor/api/v1/live-rooms/1', '/no/such/route']) {
      const res = await t.http.get(path);
      expect({ path, serverError: res.status >= 500 }).toEqual({ path, serverError: false });
      for (const name of securityHeaders) expect({ path, name, value: res.headers[name] }).toEqual({ path, name, value: expected[name] });
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });
});
