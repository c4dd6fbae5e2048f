/**
 * The peer process of bench/rss.ts (not run directly): @kubernetes/client-node's informers
 * (`makeInformer`, the library's documented cache) for the four kinds the gateway caches,
 * Services, EndpointSlices, Pods and Nodes, over the kubeconfig given as the first argument, and
 * nothing else: no server, no indexes, no queries. It says `{type: 'synced'}` over IPC once
 * every informer has listed, and answers `{type: 'sample'}` with its V8 heap spaces and
 * `process.memoryUsage()`, so that bench/rss.ts can read its RSS from /proc beside the
 * gateway's.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';

const kc = new KubeConfig();
kc.loadFromFile(process.argv[2]!);
const core = kc.makeApiClient(CoreV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const informers = [
  makeInformer<KubernetesObject>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces()),
  makeInformer<KubernetesObject>(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces()),
  makeInformer<KubernetesObject>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces()),
  makeInformer<KubernetesObject>(kc, '/api/v1/nodes', () => core.listNode()),
];
for (const i of informers) i.on('error', (err) => process.stderr.write(`rss-informer: ${String(err)}\n`));
await Promise.all(informers.map((i) => i.start()));
const objects = informers.reduce((n, i) => n + i.list().length, 0);
process.send!({ type: 'synced', objects });
process.on('message', (m: { type: string }) => {
  if (m.type === 'sample') process.send!({ type: 'sample', spaces: getHeapSpaceStatistics(), usage: process.memoryUsage() });
  if (m.type === 'exit') process.exit(0);
});
