import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DASHBOARD_CSP } from '../../src/dashboard/dashboard.routes';
import { createTestPlatform, type TestPlatform } from '../support/platform';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.close());

describe('the dashboard page and its assets', () => {
  it('when the page is asked for, then it is HTML under the strict CSP, and names only assets of this origin', async () => {
    const res = await t.http.get('/dashboard').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    const html = res.text;
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // No inline script or style: the CSP would refuse them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.sort()).toEqual(['/dashboard/assets/dashboard.css', '/dashboard/assets/dashboard.js', '/dashboard/assets/uplot.css']);
  });

  it.each([
    ['dashboard.js', 'text/javascript; charset=utf-8', /from '\.\/uplot\.mjs'/],
    ['uplot.mjs', 'text/javascript; charset=utf-8', /export \{ uPlot as default \}/],
    ['dashboard.css', 'text/css; charset=utf-8', /\.cards/],
    ['uplot.css', 'text/css; charset=utf-8', /\.uplot/],
  ])('when the asset %s is asked for, then it is served as %s', async (name, type, body) => {
    const res = await t.http
      .get(`/dashboard/assets/${name}`)
      .buffer(true)
      .parse((r, done) => {
        let data = '';
        r.on('data', (chunk: Buffer) => (data += chunk.toString()));
        r.on('end', () => done(null, data));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.body as string).toMatch(body);
  });

  it.each(['nope.js', '..%2Fdashboard.routes.ts', '..%2F..%2F..%2Fpackage.json', 'index.html', 'hasOwnProperty', '__proto__'])(
    'when /dashboard/assets/%s is asked for, then 404 problem+json and no file is read',
    async (name) => {
      const res = await t.http.get(`/dashboard/assets/${name}`).expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    },
  );

  it('when the page is posted to, then 405 with Allow: GET, HEAD', async () => {
    const res = await t.http.post('/dashboard').expect(405);
    expect(res.headers['allow']).toBe('GET, HEAD');
    expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
  });
});
