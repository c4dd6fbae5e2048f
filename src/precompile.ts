/**
 * Strips the types of every TypeScript source the start command may load (src/ and, when
 * present, demo/src) ahead of time, with Node's own stripper, into a cache that src/start.js
 * serves from (src/precompiled.js). Run by `npm start` (.ci/ensure-deps.sh) and in the image
 * build. Entries are named by content (cacheKey), so the run only writes what changed and
 * removes entries no source has any more.
 *
 *   node src/precompile.ts [--cache-dir DIR] [ROOT...]   (roots default to src/ and demo/src/)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cacheKey, DefaultCacheDir } from './precompiled.js';

/** Writes the stripped text of every `.ts` file under `roots` into `cacheDir`; returns how many were written anew. */
export function precompile(roots: readonly string[], cacheDir: string): { sources: number; written: number; removed: number } {
  mkdirSync(cacheDir, { recursive: true });
  const wanted = new Set<string>();
  let written = 0;
  for (const file of roots.filter((r) => existsSync(r)).flatMap(typeScriptFiles)) {
    const source = readFileSync(file);
    const name = `${cacheKey(source)}.js`;
    wanted.add(name);
    if (existsSync(join(cacheDir, name))) continue;
    writeFileSync(join(cacheDir, name), stripTypeScriptTypes(source.toString('utf8'), { mode: 'strip' }));
    written++;
  }
  let removed = 0;
  for (const name of readdirSync(cacheDir)) {
    if (wanted.has(name)) continue;
    rmSync(join(cacheDir, name), { force: true });
    removed++;
  }
  return { sources: wanted.size, written, removed };
}

// Private:

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : typeScriptFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ options: { 'cache-dir': { type: 'string' } }, allowPositionals: true });
  const repo = resolve(import.meta.dirname, '..');
  const roots = positionals.length > 0 ? positionals.map((p) => resolve(p)) : [join(repo, 'src'), join(repo, 'demo', 'src')];
  precompile(roots, values['cache-dir'] ? resolve(values['cache-dir']) : fileURLToPath(DefaultCacheDir));
}
