/**
 * Serves the explorer: the page at `/` (and at GET /graphql when a browser asks for HTML), and
 * its bundle from src/explorer/dist, built at install time by build.ts. Everything comes from
 * the gateway itself; a Content-Security-Policy keeps it that way. The bundle (about 1.8 MB) is
 * read from disk per request rather than held in memory: browsers cache it for an hour, and a
 * gateway mostly serves tools, not people.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const dist = join(import.meta.dirname, 'dist');

export const ExplorerCSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Throws when the bundle has not been built (run `node src/explorer/build.ts`). */
export function explorerRoute(): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const files = {
    '/explorer/explorer.js': { path: join(dist, 'explorer.js'), type: 'text/javascript; charset=utf-8' },
    '/explorer/explorer.css': { path: join(dist, 'explorer.css'), type: 'text/css; charset=utf-8' },
  } as const;
  for (const f of Object.values(files)) {
    if (!existsSync(f.path)) throw new Error(`explorer: expected the bundle at ${f.path}, got nothing: run 'node src/explorer/build.ts' (npm start does)`);
  }
  const assets = new Map<string, { path: string; type: string }>(Object.entries(files));
  const page = Buffer.from(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
      // An empty icon: the browser would otherwise ask for /favicon.ico and log the 404.
      '<title>kube-netgraph explorer</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/explorer/explorer.css"></head>' +
      '<body style="margin:0"><div id="graphiql" style="height:100vh"></div><script src="/explorer/explorer.js"></script></body></html>',
  );
  return (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const asset = assets.get(url.pathname);
    if (asset) {
      readFile(asset.path).then(
        (body) => {
          res.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`explorer: cannot read ${url.pathname}; rebuild it with 'node src/explorer/build.ts'\n`);
        },
      );
      return true;
    }
    const wantsPage =
      url.pathname === '/' || (url.pathname === '/graphql' && !url.searchParams.has('query') && (req.headers.accept ?? '').includes('text/html'));
    if (!wantsPage) return false;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': page.length,
      'content-security-policy': ExplorerCSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
    return true;
  };
}
