/**
 * Bundles the explorer (GraphiQL + React + graphql-ws, all from the npm registry) into
 * src/explorer/dist, so the gateway serves it itself: clusters are often air-gapped, and
 * nothing may load from a CDN. Run at install time by .ci/ensure-deps.sh and in the image
 * build; skips the work when dist/ is newer than its inputs.
 *
 *   node src/explorer/build.ts [--force]
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const here = import.meta.dirname;
const dist = join(here, 'dist');
const inputs = [join(here, 'client.js'), join(here, 'examples.json'), join(here, 'build.ts')];
const outputs = [join(dist, 'explorer.js'), join(dist, 'explorer.css')];

const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
const fresh = outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= newest);
if (fresh && !process.argv.includes('--force')) process.exit(0);

mkdirSync(dist, { recursive: true });
const started = Date.now();
await build({
  entryPoints: [join(here, 'client.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  outfile: join(dist, 'explorer.js'),
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.css': 'empty' },
  legalComments: 'none',
  logLevel: 'warning',
});
const require = createRequire(import.meta.url);
copyFileSync(join(require.resolve('graphiql/package.json'), '..', 'dist', 'style.css'), join(dist, 'explorer.css'));
writeFileSync(join(dist, 'BUILT'), `${new Date().toISOString()}\n`);
console.error(`explorer: bundled into ${dist} in ${Date.now() - started} ms`);
