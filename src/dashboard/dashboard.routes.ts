import { join } from 'node:path';
import type { RequestHandler, Response } from 'express';
import { AppError } from '../shared/http/app-error';
import { sendProblem } from '../shared/http/problem';

/**
 * The page may load and reach nothing but this service: its own scripts and styles (no inline code,
 * no CDN), its own API and event streams, data: for the favicon. No frames, forms posting elsewhere
 * or <base> rewrites.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Next to this file in src/ (tsx, jest) and in dist/src/ (copied by scripts/copy-assets.mjs). */
const PUBLIC_DIR = join(__dirname, 'public');

/** The only files served under /dashboard/assets/: name -> where it is and its type. */
const ASSETS: Record<string, { path: string; type: string }> = {
  'dashboard.js': { path: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  // The chart library, from the uplot package as npm installed it.
  'uplot.mjs': { path: require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  'uplot.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

function send(res: Response, file: string, type: string): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  // Revalidated on every load (Last-Modified): a new release's page and scripts are never mixed with an old one's.
  res.setHeader('Cache-Control', 'no-cache');
  res.type(type);
  // Every path served is one of ASSETS (absolute, chosen here): a dot in it (an install under ~/.local, .pnpm) is no request's doing.
  res.sendFile(file, { lastModified: true, etag: false, dotfiles: 'allow' }, (error?: Error) => {
    if (error && !res.headersSent) sendProblem(res, AppError.notFound('ROUTE_NOT_FOUND', 'No such dashboard file.'));
  });
}

/** `GET /dashboard`: the operators' page (the admin token is entered on it), and its assets: paths and handlers. */
export function dashboardRoutes(): Array<{ path: string; handle: RequestHandler }> {
  return [
    { path: '/dashboard', handle: (_req, res) => send(res, join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8') },
    {
      path: '/dashboard/assets/{name}',
      handle: (req, res) => {
        const name = String(req.params['name']);
        const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
        if (!asset) return sendProblem(res, AppError.notFound('ROUTE_NOT_FOUND', `No dashboard asset "${name}".`));
        send(res, asset.path, asset.type);
      },
    },
  ];
}
