/**
 * A Service of each kind the gateway has to understand, and its EndpointSlices: written by the
 * EndpointSlice controller's rules (../endpointslices.ts) for Services with a selector, mirrored
 * from hand-written Endpoints for a selectorless one.
 */
import type { EndpointSliceJson, ServiceJson, StringMap } from '../types.ts';
import { ControllerEndpointSliceMirroring, LabelManagedBy, LabelServiceName } from '../types.ts';
import { reconcileEndpointSlices } from '../endpointslices.ts';
import { DayMs } from '../cluster.ts';
import type { Builder, ServicePlan } from './builder.ts';
import { managed } from './bulk.ts';

export function buildService(b: Builder, plan: ServicePlan): void {
  const { rng } = b;
  const createdAt = b.ago(DayMs * 30 + rng.int(DayMs * 100));
  const index = b.serviceIndex++;
  const v4 = `10.96.${(index + 10) >> 8}.${(index + 10) & 255}`;
  const v6 = `fd00:10:96::${(index + 10).toString(16)}`;
  const labels: StringMap = plan.app !== undefined ? { app: plan.app, 'app.kubernetes.io/part-of': plan.namespace } : { 'app.kubernetes.io/part-of': plan.namespace };
  const withNodePorts = plan.kind === 'LoadBalancer' || plan.kind === 'NodePort';
  const ports = plan.ports.map((p) => (withNodePorts ? { ...p, nodePort: b.nodePort++ } : p));
  const selector = plan.app !== undefined && plan.kind !== 'Selectorless' && plan.kind !== 'ExternalName' ? { app: plan.app } : undefined;
  const common = { ports, ...(selector !== undefined ? { selector } : {}), sessionAffinity: 'None' };
  let spec: ServiceJson['spec'];
  switch (plan.kind) {
    case 'ExternalName':
      spec = { type: 'ExternalName', externalName: plan.externalName ?? 'example.com', ...common };
      break;
    case 'Headless':
      spec = { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...common };
      break;
    case 'DualStack':
      spec = { type: 'ClusterIP', clusterIP: v4, clusterIPs: [v4, v6], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', internalTrafficPolicy: 'Cluster', ...common };
      break;
    case 'ClusterIP':
    case 'Selectorless':
      spec = { type: 'ClusterIP', clusterIP: v4, clusterIPs: [v4], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...common };
      break;
    case 'NodePort':
    case 'LoadBalancer':
      spec = {
        type: plan.kind,
        clusterIP: v4,
        clusterIPs: [v4],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
        externalTrafficPolicy: plan.externalTrafficPolicy ?? 'Cluster',
        ...(plan.externalTrafficPolicy === 'Local' ? { healthCheckNodePort: b.nodePort++ } : {}),
        ...(plan.kind === 'LoadBalancer' ? { allocateLoadBalancerNodePorts: true } : {}),
        ...common,
      };
      break;
  }
  if (plan.publishNotReadyAddresses) spec = { ...spec, publishNotReadyAddresses: true };
  if (plan.trafficDistribution !== undefined) spec = { ...spec, trafficDistribution: plan.trafficDistribution };
  const status: ServiceJson['status'] = { loadBalancer: plan.kind === 'LoadBalancer' ? { ingress: [ingress(b, plan)] } : {} };
  const lastApplied = rng.chance(0.3);
  const manifest = { apiVersion: 'v1', kind: 'Service', metadata: { labels, name: plan.name, namespace: plan.namespace }, spec: { ports: plan.ports, ...(selector ? { selector } : {}), type: spec.type } };
  const service: ServiceJson = {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: {
      name: plan.name,
      namespace: plan.namespace,
      uid: rng.uuid(),
      resourceVersion: b.nextRV(),
      creationTimestamp: createdAt,
      labels,
      ...(lastApplied ? { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(manifest)}\n` } } : {}),
      ...(b.withManagedFields()
        ? {
            managedFields: [
              managed(lastApplied ? 'kubectl-client-side-apply' : 'helm', 'Update', 'v1', createdAt, { metadata: { labels }, spec: manifest.spec }),
              ...(plan.kind === 'LoadBalancer' ? [managed('aws-cloud-controller-manager', 'Update', 'v1', createdAt, { status }, 'status')] : []),
            ],
          }
        : {}),
    },
    spec,
    status,
  };
  b.services.push(service);

  if (plan.kind === 'Selectorless') {
    b.slices.push(mirroredSlice(b, service, createdAt));
    return;
  }
  if (selector === undefined) return;
  const pods = b.podsByApp.get(`${plan.namespace}/${plan.app}`) ?? [];
  const changes = reconcileEndpointSlices({
    service,
    pods,
    existing: [],
    getNode: (name) => b.nodesByName.get(name),
    maxEndpointsPerSlice: b.shape.maxEndpointsPerSlice,
    triggerTime: pods[0]?.metadata.creationTimestamp ?? createdAt,
  });
  const withManaged = b.withManagedFields();
  for (const draft of changes.create) {
    let name: string;
    do name = `${draft.metadata.generateName ?? `${plan.name}-`}${rng.suffix()}`;
    while (b.sliceNames.has(`${plan.namespace}/${name}`));
    b.sliceNames.add(`${plan.namespace}/${name}`);
    const created = pods[0]?.metadata.creationTimestamp ?? createdAt;
    b.slices.push({
      ...draft,
      metadata: {
        ...draft.metadata,
        name,
        uid: rng.uuid(),
        resourceVersion: b.nextRV(),
        creationTimestamp: created,
        ...(withManaged
          ? { managedFields: [managed('endpointslice-controller.k8s.io', 'Update', 'discovery.k8s.io/v1', created, { metadata: { labels: draft.metadata.labels, ownerReferences: draft.metadata.ownerReferences, generateName: '' }, addressType: '', endpoints: [], ports: [] })] }
          : {}),
      },
    });
  }
}

export function ingress(b: Builder, plan: ServicePlan): { ip?: string; hostname?: string; ipMode?: 'VIP' } {
  const k = b.loadBalancers++;
  if (plan.ingress === 'hostname' || k >= 500) {
    return { hostname: `a${b.rng.hex(31)}-${b.rng.int(2_000_000_000)}.${b.shape.region}.elb.amazonaws.com` };
  }
  const ip = k < 250 ? `203.0.113.${k + 1}` : `198.51.100.${k - 249}`;
  return { ip, ipMode: 'VIP' };
}

/** What endpointslicemirroring writes for hand-written Endpoints: only `ready`, no targetRef. */
export function mirroredSlice(b: Builder, service: ServiceJson, createdAt: string): EndpointSliceJson {
  const name = `${service.metadata.name}-${b.rng.suffix()}`;
  b.sliceNames.add(`${service.metadata.namespace}/${name}`);
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name,
      generateName: `${service.metadata.name}-`,
      namespace: service.metadata.namespace ?? 'default',
      uid: b.rng.uuid(),
      resourceVersion: b.nextRV(),
      generation: 1,
      creationTimestamp: createdAt,
      labels: {
        ...(service.metadata.labels ?? {}),
        [LabelServiceName]: service.metadata.name,
        [LabelManagedBy]: ControllerEndpointSliceMirroring,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: service.metadata.name, uid: b.rng.uuid(), controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['192.168.50.10'], conditions: { ready: true } },
      { addresses: ['192.168.50.11'], conditions: { ready: true } },
      { addresses: ['192.168.50.12'], conditions: { ready: false } },
    ],
    ports: [{ name: 'https', protocol: 'TCP', port: 8443 }],
  };
}
