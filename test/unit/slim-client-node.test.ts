/**
 * src/slim-client-node.js: with it registered, client-node's KubeConfig loads without the
 * library's generated index (no API client, no model), and still does what the gateway asks of
 * it (contexts from YAML, a bearer token and the cluster's CA on HTTPS options); without it, the
 * same import loads the generated index (so the first spec would fail if the hook stopped
 * narrowing the import). With it, undici is not loaded either, and what would need it refuses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const Hook = pathToFileURL(join(import.meta.dirname, '../../src/slim-client-node.js')).href;

/** In a child Node: optionally register the hook, record every module loaded, use KubeConfig as src/kube/client.ts does. */
function run(slim: boolean): { generatedIndex: boolean; models: number; undici: boolean; refused: string; server: string; authorization: string; ca: boolean } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    if (${slim}) (await import(${JSON.stringify(Hook)})).useSlimClientNode();
    const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
    const kc = new KubeConfig();
    kc.loadFromString(\`
apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:6443', certificate-authority-data: '${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64')}' } }]
users: [{ name: u, user: { token: abc } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
\`);
    const opts = {};
    await kc.applyToHTTPSOptions(opts);
    // What only client-node's generated API clients do: an undici dispatcher for their fetch.
    let refused = '';
    try { await kc.applySecurityAuthentication({ setHeaderParam() {}, setDispatcher() {} }); } catch (err) { refused = err.message; }
    console.log(JSON.stringify({
      generatedIndex: loaded.some((u) => u.endsWith('/@kubernetes/client-node/dist/gen/index.js')),
      models: loaded.filter((u) => u.includes('/@kubernetes/client-node/dist/gen/models/')).length,
      undici: loaded.some((u) => u.includes('/node_modules/undici/')),
      refused,
      server: kc.getCurrentCluster().server,
      authorization: opts.headers?.Authorization ?? opts.headers?.authorization ?? '',
      ca: String(opts.ca ?? '').includes('BEGIN CERTIFICATE'),
    }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('client-node without its generated API clients', () => {
  it('with the hook: KubeConfig reads contexts and sets the token and CA, and no generated index, model or undici is loaded', () => {
    const got = run(true);
    assert.match(got.refused, /^undici\.Agent: undici is not loaded in this process; kube-netgraph reaches the API server through node:https/);
    assert.deepEqual({ ...got, refused: '' }, { generatedIndex: false, models: 0, undici: false, refused: '', server: 'https://127.0.0.1:6443', authorization: 'Bearer abc', ca: true });
  });

  it('without it, the same import loads the generated index and its models', () => {
    const got = run(false);
    assert.equal(got.generatedIndex, true);
    assert.ok(got.models > 100, `models loaded: ${got.models}`);
    // And undici, whose dispatcher the generated clients' path then builds without complaint.
    assert.deepEqual([got.undici, got.refused], [true, '']);
    assert.deepEqual([got.server, got.authorization, got.ca], ['https://127.0.0.1:6443', 'Bearer abc', true]);
  });
});
