import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { resolveTargetPort } from '../../src/model/targetport.ts';
import { withReady, type ContainerPort, type ContainerRecord, type PodRecord, type ServicePort } from '../../src/kube/records.ts';

// Builders.

function servicePort(targetPort: number | string, protocol = 'TCP'): ServicePort {
  return { name: 'http', protocol, port: 80, targetPort, nodePort: null, appProtocol: null };
}

function cport(name: string, containerPort: number, protocol = 'TCP'): ContainerPort {
  return { name, containerPort, protocol };
}

function container(name: string, ports: ContainerPort[], sidecar = false): ContainerRecord {
  return { name, sidecar, ports };
}

function pod(...containers: ContainerRecord[]): PodRecord {
  return withReady({
    kind: 'Pod',
    meta: {
      namespace: 'default',
      name: 'web-0',
      uid: 'uid-web-0',
      resourceVersion: '1',
      labels: { app: 'web' },
      annotations: {},
      creationTimestamp: '2025-01-01T00:00:00Z',
      deletionTimestamp: null,
      ownerReferences: [],
    },
    phase: 'Running',
    podIPs: ['10.0.0.1'],
    hostIP: '192.168.0.1',
    nodeName: 'node-a',
    readyStatus: true,
    readySince: null,
    containers,
  });
}

describe('resolveTargetPort', () => {
  const cases: { name: string; port: ServicePort; pod: PodRecord; want: number | null }[] = [
    { name: 'numeric targetPort: as is, whatever the pod', port: servicePort(8080), pod: pod(), want: 8080 },
    {
      name: 'named: the container port with that name',
      port: servicePort('http'),
      pod: pod(container('app', [cport('metrics', 9090), cport('http', 8080)])),
      want: 8080,
    },
    {
      name: 'named: found in the second container',
      port: servicePort('http'),
      pod: pod(container('proxy', [cport('admin', 15000)]), container('app', [cport('http', 8080)])),
      want: 8080,
    },
    {
      name: 'named: the first container with the name wins',
      port: servicePort('http'),
      pod: pod(container('a', [cport('http', 8080)]), container('b', [cport('http', 9090)])),
      want: 8080,
    },
    {
      name: 'named: the protocol must match too',
      port: servicePort('dns', 'UDP'),
      pod: pod(container('dns', [cport('dns', 5353, 'TCP'), cport('dns', 53, 'UDP')])),
      want: 53,
    },
    {
      name: 'named: same name, other protocol only: not found',
      port: servicePort('dns', 'UDP'),
      pod: pod(container('dns', [cport('dns', 53, 'TCP')])),
      want: null,
    },
    {
      name: 'named: in a sidecar (restartable init) container',
      port: servicePort('proxy'),
      pod: pod(container('app', [cport('http', 8080)]), container('envoy', [cport('proxy', 15001)], true)),
      want: 15001,
    },
    {
      name: 'named: regular containers are searched before sidecars',
      port: servicePort('http'),
      pod: pod(container('envoy', [cport('http', 15001)], true), container('app', [cport('http', 8080)])),
      want: 8080,
    },
    { name: 'named: no container has it: null', port: servicePort('http'), pod: pod(container('app', [cport('web', 8080)])), want: null },
    { name: 'named: pod without containers: null', port: servicePort('http'), pod: pod(), want: null },
    {
      name: 'named: an empty protocol counts as TCP',
      port: servicePort('http', ''),
      pod: pod(container('app', [cport('http', 8080, 'TCP')])),
      want: 8080,
    },
    {
      name: 'a numeric-looking name is a name, not a number',
      port: servicePort('8080'),
      pod: pod(container('app', [cport('http', 8080)])),
      want: null,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(resolveTargetPort(c.port, c.pod), c.want);
    });
  }
});
