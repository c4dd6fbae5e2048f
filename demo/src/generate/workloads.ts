/**
 * A workload: its Deployment and the pods of its current ReplicaSet, scheduled onto nodes, with
 * the containers, probes, volumes and statuses a real cluster carries.
 */
import type { ContainerJson, DeploymentJson, ManagedFieldsEntryJson, PodJson } from '../types.ts';
import { AnnotationAlternatePort } from '../types.ts';
import { DefaultTolerations, newPod, replicaSetOwner, templateHash } from '../objects.ts';
import { DayMs, HourMs } from '../cluster.ts';
import type { Builder, WorkloadPlan } from './builder.ts';
import { fieldsV1 } from './bulk.ts';
import { schedule } from './nodes.ts';

export function buildWorkload(b: Builder, plan: WorkloadPlan): void {
  const { rng } = b;
  const createdAt = b.ago(DayMs * 30 + rng.int(DayMs * 100));
  const rolledAt = b.ago(HourMs + rng.int(DayMs * 20));
  const image = plan.image ?? `registry.example.com/${plan.namespace}/${plan.app}:1.${rng.int(60)}.${rng.int(10)}`;
  const labels = { app: plan.app };
  const container: ContainerJson = {
    name: 'app',
    image,
    ports: plan.ports,
    env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'OTEL_SERVICE_NAME', value: plan.app }],
    resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
    ...(plan.ports[0] !== undefined && plan.ports[0].protocol === 'TCP'
      ? { readinessProbe: { tcpSocket: { port: plan.ports[0].name ?? plan.ports[0].containerPort }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } }
      : {}),
    volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
  const sidecars: ContainerJson[] | undefined = plan.sidecarPorts === undefined
    ? undefined
    : [{
        name: 'metrics-proxy',
        image: 'docker.io/envoyproxy/envoy:v1.33.0',
        restartPolicy: 'Always',
        ports: plan.sidecarPorts,
        resources: { requests: { cpu: '10m', memory: '32Mi' } },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      }];
  const deployment: DeploymentJson = {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: {
      name: plan.app,
      namespace: plan.namespace,
      uid: rng.uuid(),
      resourceVersion: b.nextRV(),
      generation: 1 + rng.int(20),
      creationTimestamp: createdAt,
      labels,
      annotations: {
        'deployment.kubernetes.io/revision': String(1 + rng.int(20)),
        ...(plan.alternatePort !== undefined ? { [AnnotationAlternatePort]: String(plan.alternatePort) } : {}),
      },
    },
    spec: {
      replicas: plan.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'kubectl.kubernetes.io/restartedAt': rolledAt } },
        spec: {
          ...(sidecars !== undefined ? { initContainers: sidecars } : {}),
          containers: [container],
          ...(plan.subdomain !== undefined ? { subdomain: plan.subdomain } : {}),
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          serviceAccountName: 'default',
          serviceAccount: 'default',
          securityContext: {},
          schedulerName: 'default-scheduler',
          tolerations: DefaultTolerations,
          priority: 0,
          enableServiceLinks: true,
          preemptionPolicy: 'PreemptLowerPriority',
          volumes: [{
            name: 'kube-api-access',
            projected: {
              sources: [
                { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
              ],
              defaultMode: 420,
            },
          }],
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 1,
      replicas: plan.replicas,
      updatedReplicas: plan.replicas,
      readyReplicas: plan.replicas,
      availableReplicas: plan.replicas,
    },
  };
  b.deployments.push(deployment);

  const hash = templateHash(deployment);
  const owner = replicaSetOwner(deployment, hash);
  const pods: PodJson[] = [];
  let podManagedFields: readonly ManagedFieldsEntryJson[] | undefined;
  for (let r = 0; r < plan.replicas; r++) {
    const slot = schedule(b);
    if (slot === undefined) throw new RangeError(`pods: the nodes are full (maxPodsPerNode=${b.shape.maxPodsPerNode}) at ${b.pods.length} pods`);
    const host = slot.nextHost++;
    slot.pods++;
    let name: string;
    do name = `${owner.name}-${rng.suffix()}`;
    while (b.podNames.has(`${plan.namespace}/${name}`));
    b.podNames.add(`${plan.namespace}/${name}`);
    const i = slot.index;
    const withManaged = b.withManagedFields();
    if (withManaged && podManagedFields === undefined) {
      // The fields' shape depends on the template's shape only: computed once per shape.
      const signature = `${JSON.stringify(plan.ports)}|${plan.sidecarPorts !== undefined}|${plan.image !== undefined}`;
      let fields = b.podFieldsBySignature.get(signature);
      if (fields === undefined) {
        fields = {
          spec: fieldsV1({ metadata: { generateName: '', labels: deployment.spec.template.metadata.labels, ownerReferences: [{ uid: 'x' }] }, spec: deployment.spec.template.spec }),
          status: fieldsV1({ status: { conditions: [{ type: 'Ready' }, { type: 'ContainersReady' }, { type: 'PodScheduled' }], containerStatuses: {}, hostIP: '', hostIPs: {}, phase: '', podIP: '', podIPs: {}, startTime: '' } }),
        };
        b.podFieldsBySignature.set(signature, fields);
      }
      podManagedFields = [
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: rolledAt, fieldsType: 'FieldsV1', fieldsV1: fields.spec },
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: rolledAt, fieldsType: 'FieldsV1', fieldsV1: fields.status, subresource: 'status' },
      ];
    }
    const pod = newPod(
      {
        deployment,
        name,
        uid: rng.uuid(),
        createdAt: rolledAt,
        placement: { node: slot.node, podIPs: [`10.${64 + (i >> 8)}.${i & 255}.${host}`, `fd00:10:244:${i.toString(16)}::${host.toString(16)}`] },
        stage: 'ready',
        containerIDs: sidecars === undefined ? [rng.hex(64)] : [rng.hex(64), rng.hex(64)],
        resourceVersion: b.nextRV(),
        ...(withManaged ? { managedFields: podManagedFields } : {}),
      },
      hash,
      owner,
    );
    pods.push(pod);
    b.pods.push(pod);
  }
  b.podsByApp.set(`${plan.namespace}/${plan.app}`, pods);
}
