/**
 * Type-stripped sources ahead of time: src/precompile.ts writes one entry per TypeScript source,
 * named by content, only once, and drops entries no source has any more; a process that
 * registers src/precompiled.js runs cached modules without loading Node's TypeScript stripper,
 * and a source edited since (no entry) still runs, stripped by Node as usual.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { precompile } from '../../src/precompile.ts';
import { cacheKey } from '../../src/precompiled.js';

const Hook = pathToFileURL(join(import.meta.dirname, '../../src/precompiled.js')).href;

/** A project of two TypeScript modules: main.ts imports greet.ts and prints whether Node's stripper was loaded. */
function project(): { dir: string; src: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'precompiled-'));
  const src = join(dir, 'src');
  mkdirSync(src);
  // As in this repository: "type": "module" says the sources are ES modules (without it, Node
  // would strip a .ts file's types to detect its module syntax).
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(src, 'greet.ts'), `export function greet(name: string): string {\n  return \`hello \${name}\`;\n}\n`);
  writeFileSync(
    join(src, 'main.ts'),
    `import { greet } from './greet.ts';\ninterface Out { greeting: string; stripper: boolean }\nconst out: Out = { greeting: greet('pods'), stripper: process.moduleLoadList.some((m) => m.includes('amaro')) };\nconsole.log(JSON.stringify(out));\n`,
  );
  return { dir, src, cache: join(dir, 'cache') };
}

/** Runs src/main.ts of `p` in a child Node, with the precompiled sources of `cache` registered first. */
function run(p: { src: string }, cache: string): { greeting: string; stripper: boolean } {
  const entry = `const { usePrecompiled } = await import(${JSON.stringify(Hook)}); usePrecompiled(new URL(${JSON.stringify(pathToFileURL(cache).href + '/')})); await import(${JSON.stringify(pathToFileURL(join(p.src, 'main.ts')).href)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', entry], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('precompiled TypeScript sources', () => {
  it('precompile writes one entry per source, named by content, only once, and removes entries no source has', () => {
    const p = project();
    try {
      assert.deepEqual(precompile([p.src], p.cache), { sources: 2, written: 2, removed: 0 });
      assert.deepEqual(precompile([p.src], p.cache), { sources: 2, written: 0, removed: 0 });
      const before = readdirSync(p.cache).sort();
      writeFileSync(join(p.src, 'greet.ts'), `export function greet(name: string): string {\n  return \`hi \${name}\`;\n}\n`);
      assert.deepEqual(precompile([p.src], p.cache), { sources: 2, written: 1, removed: 1 });
      const after = readdirSync(p.cache).sort();
      assert.equal(after.length, 2);
      assert.equal(after.filter((f) => before.includes(f)).length, 1);
      assert.ok(after.includes(`${cacheKey(`export function greet(name: string): string {\n  return \`hi \${name}\`;\n}\n`)}.js`));
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it('a process serving the cache runs the modules without loading Node\'s TypeScript stripper', () => {
    const p = project();
    try {
      precompile([p.src], p.cache);
      assert.deepEqual(run(p, p.cache), { greeting: 'hello pods', stripper: false });
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it('a source without an entry (edited since, or no cache at all) is stripped by Node and runs as it now reads', () => {
    const p = project();
    try {
      precompile([p.src], p.cache);
      writeFileSync(join(p.src, 'greet.ts'), `export function greet(name: string): string {\n  return \`hi \${name}\`;\n}\n`);
      assert.deepEqual(run(p, p.cache), { greeting: 'hi pods', stripper: true });
      assert.deepEqual(run(p, join(p.dir, 'missing')), { greeting: 'hi pods', stripper: true });
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });
});
