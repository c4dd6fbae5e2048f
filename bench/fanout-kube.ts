/**
 * On the real control plane: the delay the gateway adds over a raw Kubernetes watch of the same
 * EndpointSlices. A pod's readiness is flipped N times; for each flip we take the moment a raw
 * watch (a plain HTTPS watch on endpointslices, in this process) sees the slice change, and the
 * moment a graphql-ws subscriber of the gateway (also in this process) receives the change set.
 *
 *   node bench/fanout-kube.ts [--flips 40]
 *
 * Needs the control plane binaries (test/control-plane/build.sh). Reports p50/p99/max of the
 * added delay in ms, and the raw watch's own delay from the status patch for scale.
 */
import { request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ControlPlane } from '../test/harness/control-plane.ts';
import { KubeClient } from '../test/harness/kube-client.ts';
import { startGateway } from '../src/app.ts';
import { parseConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/log.ts';

const { values } = parseArgs({ options: { flips: { type: 'string', default: '40' } } });
const flips = Number(values.flips);
const dir = mkdtempSync(join(tmpdir(), 'fanout-kube-'));
const cp = await ControlPlane.start({ runDir: dir });
try {
  const kube = KubeClient.admin(cp.state);
  const ns = 'bench';
  await kube.ensureNamespace(ns);
  await kube.createNode('bench-node', 'zone-a');
  await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' } });
  await kube.createPod({ namespace: ns, name: 'web-0', labels: { app: 'web' }, nodeName: 'bench-node' });
  await kube.setPodReady(ns, 'web-0', ['10.50.0.1'], true);

  const gw = await startGateway(parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config, {
    logger: createLogger({ level: 'error', format: 'text' }),
  });
  await gw.synced();

  // The raw watch: ready state of 10.50.0.1 → time first seen.
  const rawSeen = new Map<string, number>();
  const { resourceVersion } = await kube.list(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`);
  const raw = request(
    `${cp.state.apiServerUrl}/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?watch=1&resourceVersion=${resourceVersion}`,
    { ca: cp.state.caPem, headers: { authorization: `Bearer ${cp.state.adminToken}` } },
    (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        const now = performance.now();
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          const e = (ev.object.endpoints ?? []).find((x: any) => x.addresses[0] === '10.50.0.1');
          if (e) {
            const key = String(e.conditions?.ready ?? true);
            if (!rawSeen.has(key)) rawSeen.set(key, now);
          }
        }
      });
    },
  );
  raw.end();

  // The gateway subscriber.
  const subSeen = new Map<string, number>();
  const ws = new WebSocket(gw.url.replace(/^http/, 'ws') + '/graphql', ['graphql-transport-ws']);
  await new Promise((r) => ws.once('open', r));
  ws.send('{"type":"connection_init"}');
  await new Promise((r) => ws.once('message', r));
  ws.on('message', (d) => {
    const now = performance.now();
    const m = JSON.parse(d.toString());
    for (const c of m.payload?.data?.endpointChanges?.changed ?? []) {
      const key = String(c.after.ready);
      if (!subSeen.has(key)) subSeen.set(key, now);
    }
  });
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { endpointChanges(namespace: "${ns}", name: "web", snapshot: false) { changed { after { address ready } } } }` } }));

  const added: number[] = [];
  const rawDelay: number[] = [];
  for (let i = 0; i < flips; i++) {
    const ready = i % 2 === 1;
    rawSeen.clear();
    subSeen.clear();
    const t0 = performance.now();
    await kube.setPodReady(ns, 'web-0', ['10.50.0.1'], ready);
    const deadline = Date.now() + 20_000;
    while (!(rawSeen.has(String(ready)) && subSeen.has(String(ready)))) {
      if (Date.now() > deadline) throw new Error(`flip ${i}: no change seen (raw ${rawSeen.has(String(ready))}, gateway ${subSeen.has(String(ready))})`);
      await new Promise((r) => setTimeout(r, 1));
    }
    added.push(subSeen.get(String(ready))! - rawSeen.get(String(ready))!);
    rawDelay.push(rawSeen.get(String(ready))! - t0);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  console.log(`\n${flips} readiness flips on kubernetes ${cp.state.version}`);
  console.log('| measure | p50 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|');
  console.log(`| raw watch: status patch → slice event | ${q(rawDelay, 0.5).toFixed(1)} | ${q(rawDelay, 0.99).toFixed(1)} | ${Math.max(...rawDelay).toFixed(1)} |`);
  console.log(`| gateway adds: slice event → change set frame | ${q(added, 0.5).toFixed(2)} | ${q(added, 0.99).toFixed(2)} | ${Math.max(...added).toFixed(2)} |`);
  ws.close();
  raw.destroy();
  await gw.stop();
} finally {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
