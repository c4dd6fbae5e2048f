// Rewrites two templates of graphql-jit 0.8.9's code generator (dist/execution.js and .mjs),
// so that compiled queries allocate nothing per leaf and per list item on the way to a right
// answer. Run after every install (.ci/ensure-deps.sh, which `npm start` and `npm test` run, and
// the Dockerfile); plain JavaScript, so that any Node can run it. Idempotent. src/main.ts warns
// at start when it finds graphql-jit unpatched.
//
// What the generated code did, per leaf of every answer (a scalar or enum field):
//   rt.checkNonNullLeaf(ctx, value, dest, msg, [{"line":8,"column":48}], ["service","endpoints","items",idx0,"address"], …)
// The error locations and the response path are built as arguments on every call, though
// only an error reads them: about 1 KB of garbage per endpoint of a lookup. And per list item:
//   rt.handleListItemResult(ctx, item, result => …, err => …)
// two closures per item, though only a promise needs them.
//
// What it generates instead, with the same answers and the same errors (test/unit/
// graphql-jit-patch.test.ts compares it with the original code on every error path it touches):
// - per leaf, one hoisted function taking the value and the list indexes, which builds the
//   locations and path only on its error branches, and serializes as graphql-jit's own
//   `leafSerializer` does (same calls, same messages, same error lists);
// - per list item, the item handler called directly unless the item is a promise.
//
// `compileQuery(…, { leafFastPath: false })` generates the original code (for the spec that
// compares the two).
//
// Another version of graphql-jit is left as it is, with a warning: the patch is written
// against 0.8.9's text and is only a speed-up; answers do not depend on it.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const Here = dirname(fileURLToPath(import.meta.url));
const Version = '0.8.9';
const Marker = '/* kube-netgraph: leaf fast path */';

const LeafBefore = `    if (isNonNull) {
      const nullMsg = \`"Cannot return null for non-nullable field \${parentType.name}.\${getFieldNodesName(fieldNodes)}."\`;
      return \`\${GLOBAL_RUNTIME_NAME}.checkNonNullLeaf(\${GLOBAL_EXECUTION_CONTEXT}, \${sourcePath}, \${dest}, \${nullMsg}, \${locs}, \${path}, \${capStack}, \${serializerRef}, \${errHandler}\${extraIndexes})\`;
    } else {
      return \`\${GLOBAL_RUNTIME_NAME}.checkNullableLeaf(\${GLOBAL_EXECUTION_CONTEXT}, \${sourcePath}, \${dest}, \${locs}, \${path}, \${capStack}, \${serializerRef}, \${errHandler}\${extraIndexes})\`;
    }`;

// The hoisted leaf function: checkNonNullLeaf / checkNullableLeaf (runtime.js) and
// leafSerializer (getSerializer, above in the same file) written out per leaf.
const LeafAfter = `    ${Marker}
    if (context.options.leafFastPath === false) {
${LeafBefore.replace(/^/gm, '  ')}
    }
    const rawName = serializerName + "Raw";
    if (!(rawName in context.serializers)) {
      const custom = context.options.customSerializers[innerType.name];
      const leafType = innerType;
      context.serializers[rawName] = custom || ((val) => leafType.serialize(val));
    }
    const leafFn = getHoistedFunctionName(context, \`\${innerType.name}\${originPaths.join("")}Leaf\`);
    const nullBranch = isNonNull
      ? \`\${dest}.push(new \${GRAPHQL_ERROR}("Cannot return null for non-nullable field \${parentType.name}.\${getFieldNodesName(fieldNodes)}.", \${locs}, \${path}, undefined, \${capStack})); \`
      : "";
    context.hoistedFunctions.push(\`
      function \${leafFn}(\${GLOBAL_EXECUTION_CONTEXT}, v, \${parentIndexes}) {
        if (v == null) { \${nullBranch}return null; }
        if (v instanceof Error) { \${dest}.push(new \${GRAPHQL_ERROR}(v.message ?? v, \${locs}, \${path}, v, \${capStack})); return null; }
        try {
          const value = \${GLOBAL_EXECUTION_CONTEXT}.serializers.\${rawName}(v);
          if (value === void 0 || value !== value) {
            \${errHandler}(\${GLOBAL_EXECUTION_CONTEXT}, \\\`Expected a value of type "\${innerType.name}" but received: \\\${v}\\\`, \${parentIndexes});
            return null;
          }
          return value;
        } catch (e) {
          \${errHandler}(\${GLOBAL_EXECUTION_CONTEXT}, e && e.message || \\\`Expected a value of type "\${innerType.name}" but received an Error\\\`, \${parentIndexes});
          return null;
        }
      }
    \`);
    return \`\${leafFn}(\${GLOBAL_EXECUTION_CONTEXT}, \${sourcePath}\${extraIndexes})\`;`;

const ListBefore = `  function \${safeMapHandler}(\${GLOBAL_EXECUTION_CONTEXT}, __currentItem, idx\${newDepth}, resultArray, \${parentIndexes}) {
    \${GLOBAL_RUNTIME_NAME}.handleListItemResult(`;

const ListAfter = `  function \${safeMapHandler}(\${GLOBAL_EXECUTION_CONTEXT}, __currentItem, idx\${newDepth}, resultArray, \${parentIndexes}) {
    ${Marker}
    \${context.options.leafFastPath === false ? "" : \`if (!\${GLOBAL_RUNTIME_NAME}.isPromise(__currentItem)) {
      \${itemHandler}(\${GLOBAL_EXECUTION_CONTEXT}, resultArray, __currentItem, \${childIndexes});
      return;
    }\`}
    \${GLOBAL_RUNTIME_NAME}.handleListItemResult(`;

/**
 * Patch graphql-jit where `require` finds it. Returns what happened, for the caller to print:
 * 'patched', 'already', or a warning (another version).
 * @throws when the version is 0.8.9 but the text is not what the patch was written against.
 */
export function patchGraphqlJit(from = Here) {
  const pkgFile = packageFile(from);
  const { version } = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (version !== Version) return `graphql-jit ${version}: compiled queries left as they are (the leaf fast path is written against ${Version})`;
  let result = 'already';
  for (const file of generators(pkgFile)) {
    const text = readFileSync(file, 'utf8');
    if (text.includes(Marker)) continue;
    for (const before of [LeafBefore, ListBefore]) {
      if (text.split(before).length !== 2) throw new Error(`${file}: the text the patch replaces is not there once; reinstall graphql-jit ${Version} (npm ci)`);
    }
    writeFileSync(file, text.replace(LeafBefore, () => LeafAfter).replace(ListBefore, () => ListAfter));
    result = 'patched';
  }
  return result;
}

/** Whether the installed graphql-jit carries the patch (both module formats). */
export function graphqlJitPatched(from = Here) {
  return generators(packageFile(from)).every((file) => readFileSync(file, 'utf8').includes(Marker));
}

/** graphql-jit's package.json, as `require` finds it from the directory `from`. */
function packageFile(from) {
  return createRequire(join(from, 'x.js')).resolve('graphql-jit/package.json');
}

/** The code generator in both module formats. */
function generators(pkgFile) {
  const dist = join(dirname(pkgFile), 'dist');
  return [join(dist, 'execution.js'), join(dist, 'execution.mjs')];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outcome = patchGraphqlJit();
  if (outcome === 'patched') process.stderr.write('setup: graphql-jit patched (leaf fast path, src/patch-graphql-jit.js)\n');
  else if (outcome !== 'already') process.stderr.write(`setup: warning: ${outcome}\n`);
}
