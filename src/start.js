// The start command as plain JavaScript, so that any Node can read it: the gateway's sources are
// TypeScript run through Node 24's type stripping, which an older `node` refuses with a crash
// that does not say why. `npm start` runs this with the project's own Node 24 (from npm).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `kube-netgraph: needs Node.js 24 or newer, got Node.js ${process.versions.node} (${process.execPath}); run \`npm start\`, which brings Node 24 from npm, or node_modules/.bin/node src/main.ts\n`,
  );
  process.exit(1);
}
// Type-stripped sources prepared ahead of time (src/precompile.ts, run by `npm start`), so that
// Node's TypeScript stripper is never loaded into the gateway (src/precompiled.js).
const { usePrecompiled } = await import('./precompiled.js');
usePrecompiled();
// client-node's KubeConfig without its generated API clients (src/slim-client-node.js).
const { useSlimClientNode } = await import('./slim-client-node.js');
useSlimClientNode();
await import('./main.ts');
