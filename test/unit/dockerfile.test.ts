/**
 * deploy/Dockerfile, checked without a Docker engine: parsed into stages and held against the
 * repository (paths exist, the entrypoint and the explorer build script are real, runtime
 * imports need production dependencies only) and against the rest of deploy/ (user, port).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { Options } from '../../src/config.ts';

const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const deployment = (loadAllYaml(readFileSync(join(root, 'deploy/base/deployment.yaml'), 'utf8')) as any[])[0];
const container = deployment.spec.template.spec.containers[0];

describe('deploy/Dockerfile', () => {
  it('is multi-stage, every stage on node:24, build stages named', () => {
    assert.ok(stages.length >= 2, `stages: ${stages.length}`);
    for (const s of stages) assert.match(s.from, /^node:24([.-]|$)/, `stage ${s.name ?? '(final)'} FROM ${s.from}`);
    for (const s of stages.slice(0, -1)) assert.ok(s.name, `build stage FROM ${s.from} has a name`);
  });

  it('the final stage runs as a non-root numeric user, the one the Deployment runs as', () => {
    const user = final.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user, 'the final stage sets USER');
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    assert.ok(m, `USER is numeric (so runAsNonRoot can verify it), got ${user}`);
    assert.notEqual(Number(m[1]), 0, 'USER is not root');
    assert.equal(deployment.spec.template.spec.securityContext.runAsUser, Number(m[1]));
    if (m[2]) assert.equal(deployment.spec.template.spec.securityContext.runAsGroup, Number(m[2]));
    const userAt = final.instructions.findIndex((i) => i.op === 'USER');
    assert.ok(final.instructions.slice(userAt).every((i) => i.op !== 'RUN'), 'nothing runs as root after USER');
  });

  it('node_modules in the final image come from a stage that installs production dependencies only', () => {
    const copy = final.instructions.find((i) => i.op === 'COPY' && /\bnode_modules\b/.test(i.args));
    assert.ok(copy, 'the final stage copies node_modules');
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    const stage = stages.find((s) => s.name === from);
    assert.ok(stage, `node_modules come from a build stage, got --from=${from}`);
    const installs = stage.instructions.filter((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args));
    assert.ok(installs.length > 0 && installs.every((i) => /\bnpm ci\b/.test(i.args) && /--omit=dev\b/.test(i.args)), `installs in ${from}: ${installs.map((i) => i.args).join(' | ')}`);
    assert.ok(!final.instructions.some((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args)), 'the final stage installs nothing itself');
  });

  it('every module reachable from src/main.ts is copied into the image and imports production dependencies only', () => {
    const copied = final.instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from=')).flatMap((i) => copySources(i.args));
    const { files, packages } = runtimeImports(join(root, 'src/main.ts'));
    assert.ok(files.length > 20, `walked ${files.length} modules`);
    for (const f of files) {
      const rel = f.slice(root.length + 1);
      assert.ok(copied.some((c) => rel === c || rel.startsWith(`${c.replace(/\/$/, '')}/`)), `${rel} is copied into the image`);
    }
    for (const p of packages) assert.ok(p in pkg.dependencies, `${p} is imported at runtime, so it must be a production dependency (it is ${p in pkg.devDependencies ? 'a devDependency' : 'missing'})`);
    // Read at runtime, not imported: the SDL (src/graphql/schema.ts) and the module type.
    assert.ok(copied.includes('schema') && copied.includes('package.json'), `copied: ${copied.join(', ')}`);
  });

  it('the image holds no demo package, and nothing src/main.ts imports statically lives in demo/', () => {
    const copied = stages.flatMap((st) => st.instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from=')).flatMap((i) => copySources(i.args)));
    assert.ok(copied.length > 0 && !copied.some((c) => c === 'demo' || c.startsWith('demo/') || c === '.'), `COPY sources: ${copied.join(', ')}`);
    const { files } = runtimeImports(join(root, 'src/main.ts'));
    assert.deepEqual(files.filter((f) => f.startsWith(join(root, 'demo'))), []);
    // The one way in: app.ts imports the demo's entry point by URL, at run time, only to serve it.
    assert.match(readFileSync(join(root, 'src/app.ts'), 'utf8'), /new URL\('\.\.\/demo\/src\/index\.ts', import\.meta\.url\)/);
    assert.ok(existsSync(join(root, 'demo/src/index.ts')), 'the demo entry point app.ts names exists');
  });

  it('every COPY source exists in the repository, or is produced by the earlier stage it names', () => {
    for (const [n, s] of stages.entries()) {
      for (const i of s.instructions.filter((x) => x.op === 'COPY')) {
        const from = /--from=(\S+)/.exec(i.args)?.[1];
        if (!from) {
          for (const src of copySources(i.args)) assert.ok(existsSync(join(root, src)), `COPY ${src} (stage ${s.name ?? 'final'}) exists`);
          continue;
        }
        const at = stages.findIndex((x) => x.name === from);
        assert.ok(at >= 0 && at < n, `COPY --from=${from} names an earlier stage`);
        const producer = stages[at]!;
        const workdir = producer.instructions.filter((x) => x.op === 'WORKDIR').at(-1)?.args ?? '/';
        for (const src of copySources(i.args)) {
          assert.ok(src.startsWith(`${workdir}/`), `COPY --from=${from} ${src} is under its WORKDIR ${workdir}`);
          const made = producedBy(producer).some((p) => src === `${workdir}/${p}`);
          assert.ok(made, `${src} is produced in stage ${from} (by ${producer.instructions.filter((x) => x.op === 'RUN').map((x) => x.args).join(' | ')})`);
        }
      }
    }
  });

  it('ENTRYPOINT runs src/start.js (which loads src/main.ts) with node, from the WORKDIR src/ is copied into', () => {
    const entry = final.instructions.find((i) => i.op === 'ENTRYPOINT');
    assert.ok(entry, 'the final stage has an ENTRYPOINT');
    assert.deepEqual(JSON.parse(entry.args), ['node', 'src/start.js'], 'exec form, so node is PID 1 and receives SIGTERM');
    assert.match(readFileSync(join(root, 'src/start.js'), 'utf8'), /await import\('\.\/main\.ts'\)/);
    assert.ok(existsSync(join(root, 'src/main.ts')));
    assert.equal(final.instructions.filter((i) => i.op === 'WORKDIR').at(-1)?.args, '/app');
    assert.ok(final.instructions.some((i) => i.op === 'COPY' && /^src \.\/src$/.test(i.args)), 'COPY src ./src');
  });

  it('the explorer is bundled in a build stage and copied in after src/, so the fresh bundle wins over a dist/ in the build context', () => {
    assert.ok(existsSync(join(root, 'src/explorer/build.ts')));
    const stage = stages.find((s) => s.instructions.some((i) => i.op === 'RUN' && /\bnode src\/explorer\/build\.ts\b/.test(i.args)));
    assert.ok(stage?.name, 'a named build stage runs src/explorer/build.ts');
    const build = stage.instructions.find((i) => i.op === 'RUN' && /src\/explorer\/build\.ts/.test(i.args))!;
    assert.match(build.args, /--force/, 'build.ts skips work when dist/ looks fresh; in the image it must always build');
    const srcAt = final.instructions.findIndex((i) => i.op === 'COPY' && /^src \.\/src$/.test(i.args));
    const distAt = final.instructions.findIndex((i) => i.op === 'COPY' && i.args === `--from=${stage.name} /app/src/explorer/dist ./src/explorer/dist`);
    assert.ok(distAt >= 0, 'the final stage copies the bundle from the explorer stage');
    assert.ok(distAt > srcAt, 'the bundle is copied after src/');
  });

  it('the final stage strips the sources\' types ahead of time after copying src/, before dropping root', () => {
    assert.ok(existsSync(join(root, 'src/precompile.ts')));
    const srcAt = final.instructions.findIndex((i) => i.op === 'COPY' && /^src \.\/src$/.test(i.args));
    const runAt = final.instructions.findIndex((i) => i.op === 'RUN' && /\bnode\b.*\bsrc\/precompile\.ts\b/.test(i.args));
    const userAt = final.instructions.findIndex((i) => i.op === 'USER');
    assert.ok(runAt > srcAt, 'RUN node src/precompile.ts after COPY src ./src');
    assert.ok(userAt > runAt, 'and before USER, so that it may write node_modules/.cache');
  });

  it('the final stage rewrites graphql-jit\'s leaf code generation (src/patch-graphql-jit.js) after copying node_modules and src/, before dropping root, as .ci/ensure-deps.sh does', () => {
    const modulesAt = final.instructions.findIndex((i) => i.op === 'COPY' && /\/app\/node_modules \.\/node_modules$/.test(i.args));
    const srcAt = final.instructions.findIndex((i) => i.op === 'COPY' && /^src \.\/src$/.test(i.args));
    const runAt = final.instructions.findIndex((i) => i.op === 'RUN' && /^node src\/patch-graphql-jit\.js$/.test(i.args));
    const userAt = final.instructions.findIndex((i) => i.op === 'USER');
    assert.ok(modulesAt >= 0 && runAt > modulesAt && runAt > srcAt, 'RUN node src/patch-graphql-jit.js after COPY of node_modules and src');
    assert.ok(userAt > runAt, 'and before USER, so that it may write node_modules');
    assert.match(readFileSync(join(root, '.ci/ensure-deps.sh'), 'utf8'), /^node_modules\/\.bin\/node src\/patch-graphql-jit\.js$/m);
  });

  it('the image and `npm start` both run the gateway with at most two malloc arenas (MALLOC_ARENA_MAX=2), unless `npm start`\'s environment says otherwise', () => {
    assert.ok(final.instructions.some((i) => i.op === 'ENV' && i.args === 'MALLOC_ARENA_MAX=2'), 'ENV MALLOC_ARENA_MAX=2 in the final stage');
    const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string;
    assert.equal(start, 'MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} node src/start.js');
  });

  it('EXPOSE is the default --port, the port CMD passes, and the Deployment container port', () => {
    const expose = final.instructions.find((i) => i.op === 'EXPOSE')?.args;
    assert.equal(expose, Options.port!.default);
    const cmd = JSON.parse(final.instructions.find((i) => i.op === 'CMD')!.args) as string[];
    assert.ok(cmd.includes(`--port=${expose}`) && cmd.includes('--host=0.0.0.0'), `CMD ${cmd.join(' ')}`);
    assert.equal(String(container.ports[0].containerPort), expose);
  });
});

// Private:

interface Instruction {
  readonly op: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | null;
  readonly instructions: Instruction[];
}

/** Instructions per stage; comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile: expected "INSTRUCTION args", got ${JSON.stringify(line)}`);
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(f, `FROM: expected "image [AS name]", got ${JSON.stringify(args)}`);
      stages.push({ from: f[1]!, name: f[2] ?? null, instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `${op} before the first FROM`);
    stages.at(-1)!.instructions.push({ op, args: args.trim() });
  }
  return stages;
}

/** The source paths of `COPY [--flags] src... dest`. */
function copySources(args: string): string[] {
  const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
  return words.slice(0, -1).map((w) => w.replace(/^\.\//, '').replace(/\/$/, ''));
}

/** Paths (relative to the stage's WORKDIR) that the stage's RUN steps create. */
function producedBy(stage: Stage): string[] {
  const out: string[] = [];
  for (const i of stage.instructions.filter((x) => x.op === 'RUN')) {
    if (/\bnpm ci\b/.test(i.args)) out.push('node_modules');
    if (/\bnode src\/explorer\/build\.ts\b/.test(i.args)) out.push('src/explorer/dist');
  }
  return out;
}

/** Modules reachable from `entry` through value imports, and the npm packages they import. */
function runtimeImports(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    assert.ok(existsSync(file), `imported module ${file} exists`);
    files.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      // `import x from 'y'`, `import { a, type B } from 'y'`, `export { a } from 'y'`; not `import type`.
      ...[...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'";]*?\sfrom\s+'([^']+)'/gm)].map((m) => m[1]!),
      ...[...source.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1]!),
      ...[...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!),
    ];
    for (const s of specifiers) {
      if (s.startsWith('.')) visit(resolve(dirname(file), s));
      else if (!s.startsWith('node:')) packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages: [...packages].sort() };
}
