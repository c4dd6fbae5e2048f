// Type-stripped sources, prepared ahead of time (src/precompile.ts), served to Node's loader in
// place of stripping them at import. Node strips a `.ts` module's types with a WebAssembly
// build of swc loaded on first use and kept for the process's life: about 20 MiB of resident
// memory for a gateway that would never strip anything again after start (bench/rss.ts).
// Plain JavaScript, registered by src/start.js before the first TypeScript module loads.
//
// The cache is addressed by content: a module whose source has no entry (edited since the
// cache was built, or never built) is stripped by Node as usual, so a stale cache cannot serve
// stale code.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

/** Where src/precompile.ts writes and src/start.js reads, unless told otherwise. */
export const DefaultCacheDir = new URL('../node_modules/.cache/kube-netgraph/stripped/', import.meta.url);

/** The cache key of one source: its bytes and the stripper's version (`process.versions.amaro`). */
export function cacheKey(source) {
  return createHash('sha256').update(`${process.versions.amaro ?? ''}\0`).update(source).digest('hex');
}

/** Serve `.ts` modules from `cacheDir` (a file URL ending in `/`) when it holds their stripped text. */
export function usePrecompiled(cacheDir = DefaultCacheDir) {
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (loaded.format !== 'module-typescript') return loaded;
      let source;
      try {
        source = readFileSync(new URL(`${cacheKey(loaded.source)}.js`, cacheDir), 'utf8');
      } catch {
        return loaded;
      }
      return { format: 'module', source, shortCircuit: true };
    },
  });
}
