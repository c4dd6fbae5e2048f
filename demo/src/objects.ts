/**
 * Builders for the objects a Deployment's pods go through, shared by the generator and churn so
 * generated and churned pods look alike: Pending (scheduled, no IP), Running and not ready,
 * Running and ready, terminating (deletionTimestamp set), then gone.
 *
 * Pods of one template share their spec's containers, volumes and tolerations (read-only), which
 * keeps a 150,000-pod cluster in a few hundred MB.
 */
import { createHash } from 'node:crypto';
import type {
  ContainerJson,
  DeploymentJson,
  ObjectMetaJson,
  NodeJson,
  OwnerReferenceJson,
  PodConditionJson,
  PodJson,
  PodStatusJson,
} from './types.ts';
import { LabelPodTemplateHash } from './types.ts';
import { podTemplateHash, uuidFrom } from './random.ts';

/** The life stages a simulated pod goes through. */
export type PodStage = 'pending' | 'running' | 'ready';

/** Where a pod runs and which addresses it got. */
export interface Placement {
  readonly node: NodeJson;
  /** IPv4 then IPv6 (dual-stack cluster). */
  readonly podIPs: readonly string[];
}

export interface NewPod {
  readonly deployment: DeploymentJson;
  readonly name: string;
  readonly uid: string;
  /** RFC 3339. */
  readonly createdAt: string;
  readonly placement: Placement;
  readonly stage: PodStage;
  /** `containerd://…` id of each container, in order; random-looking, supplied by the caller for determinism. */
  readonly containerIDs: readonly string[];
  /** @default '' // the store assigns one */
  readonly resourceVersion?: string;
  readonly managedFields?: ObjectMetaJson['managedFields'];
}

/** The pod-template-hash of a Deployment's current template. */
export function templateHash(deployment: DeploymentJson): string {
  return podTemplateHash(deployment.spec.template);
}

/** The ReplicaSet name the Deployment controller gives a template: `<deployment>-<hash>`. */
export function replicaSetName(deployment: DeploymentJson, hash: string = templateHash(deployment)): string {
  return `${deployment.metadata.name}-${hash}`;
}

/** The owner reference to that ReplicaSet (ReplicaSets are not stored; the uid is derived). */
export function replicaSetOwner(deployment: DeploymentJson, hash: string = templateHash(deployment)): OwnerReferenceJson {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: replicaSetName(deployment, hash),
    uid: uuidFrom(`${deployment.metadata.uid}/${hash}`),
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A pod of the Deployment's current template at the given stage. */
export function newPod(input: NewPod, hash: string = templateHash(input.deployment), owner: OwnerReferenceJson = replicaSetOwner(input.deployment, hash)): PodJson {
  const { deployment, placement } = input;
  const template = deployment.spec.template;
  const shared = sharedFor(template, hash, owner);
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: input.name,
      generateName: shared.generateName,
      namespace: deployment.metadata.namespace ?? 'default',
      uid: input.uid,
      resourceVersion: input.resourceVersion ?? '',
      creationTimestamp: input.createdAt,
      labels: shared.labels,
      ...(template.metadata.annotations !== undefined ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: shared.ownerReferences,
      ...(input.managedFields !== undefined ? { managedFields: input.managedFields } : {}),
    },
    // A template with a subdomain gives each pod its own name as hostname (as a StatefulSet does),
    // so a headless Service's endpoints carry hostnames.
    spec: template.spec.subdomain === undefined
      ? { ...template.spec, nodeName: placement.node.metadata.name }
      : { ...template.spec, nodeName: placement.node.metadata.name, hostname: input.name },
    status: podStatus(input, input.stage, input.createdAt),
  };
}

/** A new pending pod of the same ReplicaSet as `pod` (what the ReplicaSet controller creates when
 *  one of its pods is evicted): same labels, owner and spec, another name, node and uid. */
export function replacementPod(
  pod: PodJson,
  input: { readonly name: string; readonly uid: string; readonly createdAt: string; readonly node: NodeJson },
): PodJson {
  const { hostname: _hostname, ...spec } = pod.spec;
  const { deletionTimestamp: _d, deletionGracePeriodSeconds: _g, managedFields: _m, ...metadata } = pod.metadata;
  return {
    ...pod,
    metadata: { ...metadata, name: input.name, uid: input.uid, resourceVersion: '', creationTimestamp: input.createdAt },
    spec: {
      ...spec,
      nodeName: input.node.metadata.name,
      ...(pod.spec.subdomain !== undefined ? { hostname: input.name } : {}),
    },
    status: statusFor(pod, { node: input.node, podIPs: [] }, 'pending', input.createdAt, input.createdAt, []),
  };
}

/** Pending → Running, not ready: the kubelet started the containers and reported the IPs. */
export function podStarted(pod: PodJson, placement: Placement, at: string, containerIDs: readonly string[]): PodJson {
  return { ...pod, status: statusFor(pod, placement, 'running', pod.metadata.creationTimestamp, at, containerIDs) };
}

/** Flips the Ready and ContainersReady conditions (and containers' `ready`). */
export function podWithReadiness(pod: PodJson, ready: boolean, at: string): PodJson {
  const status = pod.status;
  const value = ready ? 'True' : 'False';
  const conditions = (status.conditions ?? []).map((c): PodConditionJson => {
    if (c.type !== 'Ready' && c.type !== 'ContainersReady') return c;
    if (c.status === value) return c;
    return ready
      ? { type: c.type, status: 'True', lastProbeTime: null, lastTransitionTime: at }
      : { type: c.type, status: 'False', lastProbeTime: null, lastTransitionTime: at, reason: 'ContainersNotReady', message: 'containers with unready status: [app]' };
  });
  const containerStatuses = Array.isArray(status['containerStatuses'])
    ? (status['containerStatuses'] as readonly Record<string, unknown>[]).map((c) => ({ ...c, ready }))
    : undefined;
  return {
    ...pod,
    status: { ...status, conditions, ...(containerStatuses !== undefined ? { containerStatuses } : {}) },
  };
}

/** Deletion requested: deletionTimestamp = now + grace period, as the API server sets it. */
export function podTerminating(pod: PodJson, nowMs: number, graceSeconds = 30): PodJson {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      deletionTimestamp: new Date(nowMs + graceSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      deletionGracePeriodSeconds: graceSeconds,
    },
  };
}

/** The pod's IPs in family order. */
export function podIPsOf(pod: PodJson): string[] {
  return pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : []);
}

/** The node's InternalIP addresses, IPv4 first. */
export function nodeIPs(node: NodeJson): string[] {
  return node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
}

/** The default tolerations the DefaultTolerationSeconds admission plugin adds to every pod. */
export const DefaultTolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
] as const;

// Private:

/** Parts equal across pods are shared (objects are never mutated): a few hundred bytes per pod. */
const EmptyObject = Object.freeze({});

interface TemplateShared {
  readonly generateName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReferenceJson[];
}

const templateShared = new WeakMap<object, Map<string, TemplateShared>>();

function sharedFor(template: object, hash: string, owner: OwnerReferenceJson): TemplateShared {
  let byHash = templateShared.get(template);
  if (byHash === undefined) {
    byHash = new Map();
    templateShared.set(template, byHash);
  }
  let shared = byHash.get(`${hash}/${owner.uid}`);
  if (shared === undefined) {
    const labels = (template as { metadata: { labels: Readonly<Record<string, string>> } }).metadata.labels;
    shared = { generateName: `${owner.name}-`, labels: { ...labels, [LabelPodTemplateHash]: hash }, ownerReferences: [owner] };
    byHash.set(`${hash}/${owner.uid}`, shared);
  }
  return shared;
}

const hosts = new WeakMap<NodeJson, { hostIP?: string; hostIPs: readonly { ip: string }[] }>();

function hostOf(node: NodeJson): { hostIP?: string; hostIPs: readonly { ip: string }[] } {
  let host = hosts.get(node);
  if (host === undefined) {
    const ips = nodeIPs(node);
    host = { ...(ips[0] !== undefined ? { hostIP: ips[0] } : {}), hostIPs: ips.map((ip) => ({ ip })) };
    hosts.set(node, host);
  }
  return host;
}

/** A small memo: the last few distinct (ready, createdAt, at) triples. */
const conditionsMemo = new Map<string, readonly PodConditionJson[]>();
const statesMemo = new Map<string, object>();

function runningConditions(ready: boolean, createdAt: string, at: string): readonly PodConditionJson[] {
  const key = `${ready}|${createdAt}|${at}`;
  let conditions = conditionsMemo.get(key);
  if (conditions === undefined) {
    conditions = [
      { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: at },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: createdAt },
      ready ? { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: at } : notReady('Ready', at),
      ready ? { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: at } : notReady('ContainersReady', at),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: createdAt },
    ];
    if (conditionsMemo.size >= 256) conditionsMemo.clear();
    conditionsMemo.set(key, conditions);
  }
  return conditions;
}

function runningState(at: string): object {
  let state = statesMemo.get(at);
  if (state === undefined) {
    state = { running: { startedAt: at } };
    if (statesMemo.size >= 256) statesMemo.clear();
    statesMemo.set(at, state);
  }
  return state;
}

function podStatus(input: NewPod, stage: PodStage, at: string): PodStatusJson {
  return statusFor(
    { spec: input.deployment.spec.template.spec },
    input.placement,
    stage,
    input.createdAt,
    at,
    input.containerIDs,
  );
}

function statusFor(
  pod: Pick<PodJson, 'spec'>,
  placement: Placement,
  stage: PodStage,
  createdAt: string,
  at: string,
  containerIDs: readonly string[],
): PodStatusJson {
  const host = hostOf(placement.node);
  if (stage === 'pending') {
    return {
      phase: 'Pending',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: createdAt },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: createdAt },
        notReady('Ready', createdAt),
        notReady('ContainersReady', createdAt),
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: createdAt },
      ],
      ...host,
      startTime: createdAt,
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image,
        imageID: '',
        started: false,
      })),
      qosClass: 'Burstable',
    };
  }
  const ready = stage === 'ready';
  return {
    phase: 'Running',
    conditions: runningConditions(ready, createdAt, at),
    ...host,
    ...(placement.podIPs[0] !== undefined ? { podIP: placement.podIPs[0] } : {}),
    podIPs: placement.podIPs.map((ip) => ({ ip })),
    startTime: createdAt,
    containerStatuses: pod.spec.containers.map((c: ContainerJson, i: number) => ({
      name: c.name,
      state: runningState(at),
      lastState: EmptyObject,
      ready,
      restartCount: 0,
      image: c.image,
      imageID: imageID(c.image),
      containerID: `containerd://${containerIDs[i] ?? ''}`,
      started: true,
    })),
    qosClass: 'Burstable',
  };
}

const imageIDs = new Map<string, string>();

/** `repo@sha256:<digest>`, stable per image. */
function imageID(image: string): string {
  let id = imageIDs.get(image);
  if (id === undefined) {
    id = `${image.split(':')[0]}@sha256:${createHash('sha256').update(image).digest('hex')}`;
    imageIDs.set(image, id);
  }
  return id;
}

function notReady(type: 'Ready' | 'ContainersReady', at: string): PodConditionJson {
  return {
    type,
    status: 'False',
    lastProbeTime: null,
    lastTransitionTime: at,
    reason: 'ContainersNotReady',
    message: 'containers with unready status: [app]',
  };
}
