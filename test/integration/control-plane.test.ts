/**
 * The foundation: the real control plane the other suites run against. The real EndpointSlice
 * controller writes slices for a Service once its pods are ready (pods made ready by patching
 * status, as kwok does), and the garbage collector removes them with the Service.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { waitFor } from '../harness/wait.ts';

const ns = 'smoke';

describe('real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);

  before(async () => {
    await kube.ensureNamespace(ns);
    await kube.createNode('smoke-node-a', 'zone-a');
  });
  after(async () => {
    await kube.req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
  });

  it('is the pinned Kubernetes release', () => {
    assert.match(cp.state.version, /^v1\.36\.\d+$/);
  });

  it('EndpointSlice controller writes a slice with ready and not-ready endpoints, and the garbage collector removes it with its Service', async () => {
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' } });
    for (const name of ['web-0', 'web-1', 'web-2']) {
      await kube.createPod({ namespace: ns, name, labels: { app: 'web' }, nodeName: 'smoke-node-a' });
    }
    await kube.setPodReady(ns, 'web-0', ['10.1.0.10'], true);
    await kube.setPodReady(ns, 'web-1', ['10.1.0.11'], true);
    await kube.setPodReady(ns, 'web-2', ['10.1.0.12'], false);

    let slices: any[] = [];
    await waitFor('a slice with 3 endpoints for web', 30_000, async () => {
      slices = await kube.slicesOf(ns, 'web');
      return slices.length === 1 && (slices[0].endpoints ?? []).length === 3;
    });
    const [slice] = slices;
    assert.equal(slice.addressType, 'IPv4');
    assert.equal(slice.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const byIp = Object.fromEntries(
      slice.endpoints.map((e: any) => [e.addresses[0], { ...e.conditions, node: e.nodeName, pod: e.targetRef.name, zone: e.zone }]),
    );
    assert.deepEqual(byIp, {
      '10.1.0.10': { ready: true, serving: true, terminating: false, node: 'smoke-node-a', pod: 'web-0', zone: 'zone-a' },
      '10.1.0.11': { ready: true, serving: true, terminating: false, node: 'smoke-node-a', pod: 'web-1', zone: 'zone-a' },
      '10.1.0.12': { ready: false, serving: false, terminating: false, node: 'smoke-node-a', pod: 'web-2', zone: 'zone-a' },
    });

    await kube.deleteService(ns, 'web');
    await waitFor('the garbage collector to delete the slices of web', 60_000, async () => (await kube.slicesOf(ns, 'web')).length === 0);
  });

  it('restarting kube-apiserver after compacting etcd keeps the data and answers a watch from an old resourceVersion with 410', async () => {
    const { resourceVersion } = await kube.list(`/api/v1/namespaces/${ns}/services`);
    await kube.createService({ namespace: ns, name: 'survivor', selector: { app: 'survivor' } });
    await cp.stopApiServer();
    const compactedAt = await cp.compactEtcd();
    assert.ok(compactedAt > Number(resourceVersion));
    await cp.startApiServer();

    const svc = await kube.req('GET', `/api/v1/namespaces/${ns}/services/survivor`);
    assert.equal(svc.metadata.name, 'survivor');
    const first = await kube.firstWatchEvent(`/api/v1/namespaces/${ns}/services?watch=1&timeoutSeconds=5&resourceVersion=${resourceVersion}`);
    const code = first.status === 410 ? 410 : first.event?.type === 'ERROR' ? first.event.object.code : first.status;
    assert.equal(code, 410, `expected 410 Gone for a compacted version, got ${JSON.stringify(first)}`);
  });
});
