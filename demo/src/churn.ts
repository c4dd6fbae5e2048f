/**
 * Churn for the simulated cluster: the changes a busy real cluster makes, applied to the store
 * step by step, with the EndpointSlice controller's reaction after every step.
 *
 * Actions (each spans several steps; up to `maxConcurrentActions` run interleaved):
 * - `rollout`: `kubectl rollout restart` of a Deployment. In batches of maxSurge (25 %): new
 *   pods are created Pending (no IP, so no endpoint), start Running but not ready
 *   (ready=false, serving=false), turn ready; then as many old pods get a deletionTimestamp
 *   (ready=false, serving=true, terminating=true), stop being ready (serving=false) and are
 *   deleted. A Deployment annotated `sim.kube-netgraph.dev/alternate-http-port` also flips its
 *   `http` container port, so mid-rollout the Service has slices for two port numbers.
 * - `readiness-flap`: a ready pod fails its readiness probe, then recovers.
 * - `node-drain`: a worker is cordoned (unschedulable + taint), its pods are evicted and their
 *   ReplicaSets create replacements on other nodes, then it is uncordoned.
 * - `scale-to-zero`: a small Deployment is scaled to 0 (its Services keep a placeholder slice),
 *   then back to its replica count.
 *
 * Every step ends with the EndpointSlice controller syncing each Service whose pods changed
 * (see endpointslices.ts), so the slices always match the pods at step boundaries.
 *
 * The churn assumes it is the only writer of Pods, Deployments and EndpointSlices in its cluster
 * while it runs (it tracks pod IPs per node itself).
 */
import type { Cluster } from './cluster.ts';
import { rfc3339 } from './cluster.ts';
import type { DeploymentJson, EndpointSliceJson, NodeJson, PodJson, ServiceJson, TaintJson } from './types.ts';
import { AnnotationAlternatePort, ControllerEndpointSlice, LabelManagedBy, LabelPodTemplateHash, LabelServiceName } from './types.ts';
import { Rng } from './random.ts';
import { DefaultMaxEndpointsPerSlice, isPodReady, labelsMatch, reconcileEndpointSlices, selectsPod } from './endpointslices.ts';
import { newPod, podIPsOf, podStarted, podTerminating, podWithReadiness, replacementPod, templateHash } from './objects.ts';

/**
 * Deployments never scaled to zero: the flagship `shop/frontend` that the README's and the
 * explorer's route examples follow to its pods (rollouts, flaps and drains still touch it).
 */
const KeptServing: ReadonlySet<string> = new Set(['shop/frontend']);

export type ChurnActionKind = 'rollout' | 'readiness-flap' | 'node-drain' | 'scale-to-zero';

/** What one step did. */
export interface ChurnStep {
  readonly action: ChurnActionKind | 'idle';
  /** A Deployment or Pod key (`namespace/name`) or a Node name; '' when idle. */
  readonly target: string;
  /** The stage the action reached, such as `surge created` or `old deleted`. */
  readonly phase: string;
  /** Cluster events (revisions) the step produced, slice changes included. */
  readonly events: number;
}

export interface ChurnOptions {
  readonly cluster: Cluster;
  /** Equal seeds on equal clusters give equal churn. @default 1 */
  readonly seed?: number;
  /**
   * Target rate of cluster events while started; the delay after a step is its event count
   * divided by this rate.
   * @default 20 // events per second
   */
  readonly eventsPerSecond?: number;
  /** @default 100 // endpoints per slice, the controller's default */
  readonly maxEndpointsPerSlice?: number;
  /** @default 3 // actions in flight at once */
  readonly maxConcurrentActions?: number;
  /** Relative weight of each action when one is started. @default { rollout: 3, 'readiness-flap': 5, 'node-drain': 1, 'scale-to-zero': 1 } */
  readonly weights?: Partial<Record<ChurnActionKind, number>>;
  /** Called when a timer-driven step throws; churn carries on. @default logs to console.error */
  readonly onError?: (error: unknown) => void;
}

export class Churn {
  readonly cluster: Cluster;
  readonly eventsPerSecond: number;
  readonly maxEndpointsPerSlice: number;
  readonly maxConcurrentActions: number;

  /** @throws RangeError on a non-positive rate or concurrency. */
  constructor(options: ChurnOptions) {
    this.cluster = options.cluster;
    this.eventsPerSecond = options.eventsPerSecond ?? 20;
    this.maxEndpointsPerSlice = options.maxEndpointsPerSlice ?? DefaultMaxEndpointsPerSlice;
    this.maxConcurrentActions = options.maxConcurrentActions ?? 3;
    if (!(this.eventsPerSecond > 0)) throw new RangeError(`eventsPerSecond must be positive, but got: ${this.eventsPerSecond}`);
    if (!Number.isInteger(this.maxConcurrentActions) || this.maxConcurrentActions < 1) {
      throw new RangeError(`maxConcurrentActions must be a positive integer, but got: ${this.maxConcurrentActions}`);
    }
    this.#rng = new Rng(options.seed ?? 1);
    this.#weights = { rollout: 3, 'readiness-flap': 5, 'node-drain': 1, 'scale-to-zero': 1, ...options.weights };
    this.#onError = options.onError ?? ((error) => console.error('sim churn: step failed:', error));
  }

  /** Whether the timer is running. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Actions in flight, oldest first. */
  get inFlight(): readonly { readonly action: ChurnActionKind; readonly target: string }[] {
    return this.#active.map(({ action, target }) => ({ action, target }));
  }

  /** Starts stepping on a timer at about `eventsPerSecond`. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#schedule(0);
  }

  /** Stops the timer; actions in flight stay where they are and resume on the next start or step. Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Applies one step synchronously: advances an action in flight, or starts one, then lets the
   * EndpointSlice controller sync the Services whose pods changed.
   */
  step(): ChurnStep {
    const before = this.cluster.revision;
    this.#ensureIndexes();
    let result: { action: ChurnActionKind; target: string; phase: string } | undefined;
    const canStart = this.#active.length < this.maxConcurrentActions;
    if (canStart && (this.#active.length === 0 || this.#rng.chance(0.35))) {
      const started = this.#startAction();
      if (started !== undefined) {
        this.#active.push(started);
        result = this.#advance(started);
      }
    }
    if (result === undefined && this.#active.length > 0) result = this.#advance(this.#rng.pick(this.#active));
    this.#syncDirtyServices();
    return {
      action: result?.action ?? 'idle',
      target: result?.target ?? '',
      phase: result?.phase ?? 'nothing to do',
      events: this.cluster.revision - before,
    };
  }

  /** Runs `n` steps; returns them. */
  steps(n: number): ChurnStep[] {
    const out: ChurnStep[] = [];
    for (let i = 0; i < n; i++) out.push(this.step());
    return out;
  }

  // Private:

  #rng: Rng;
  #weights: Record<ChurnActionKind, number>;
  #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #active: Action[] = [];
  #locks = new Set<string>();
  /** Used host numbers of each node's pod CIDR. */
  #hostsByNode: Map<string, Set<number>> | undefined;
  /** Pods changed in this step (old and new states), for the controller's sync. */
  #touched: PodJson[] = [];

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      let events = 1;
      try {
        events = Math.max(1, this.step().events);
      } catch (error) {
        this.#onError(error);
      }
      if (this.#timer !== undefined) this.#schedule((events / this.eventsPerSecond) * 1000);
    }, delayMs);
  }

  #advance(action: Action): { action: ChurnActionKind; target: string; phase: string } {
    const next = action.run.next();
    if (next.done) {
      this.#active.splice(this.#active.indexOf(action), 1);
      for (const lock of action.locks) this.#locks.delete(lock);
    }
    return { action: action.action, target: action.target, phase: next.value };
  }

  #startAction(): Action | undefined {
    const kinds = (Object.keys(this.#weights) as ChurnActionKind[]).filter((k) => this.#weights[k] > 0);
    const total = kinds.reduce((sum, k) => sum + this.#weights[k], 0);
    let roll = this.#rng.next() * total;
    let kind: ChurnActionKind | undefined;
    for (const k of kinds) {
      roll -= this.#weights[k];
      if (roll < 0) {
        kind = k;
        break;
      }
    }
    kind ??= kinds[kinds.length - 1];
    switch (kind) {
      case 'rollout': {
        const deployment = this.#pickDeployment((d) => d.spec.replicas > 0);
        return deployment && this.#action('rollout', keyOf(deployment), [`deployment:${keyOf(deployment)}`], this.#rollout(keyOf(deployment)));
      }
      case 'scale-to-zero': {
        const deployment = this.#pickDeployment((d) => d.spec.replicas > 0 && d.spec.replicas <= 20 && !KeptServing.has(keyOf(d)));
        return deployment && this.#action('scale-to-zero', keyOf(deployment), [`deployment:${keyOf(deployment)}`], this.#scaleToZero(keyOf(deployment)));
      }
      case 'readiness-flap': {
        const pod = this.#pickReadyPod();
        return pod && this.#action('readiness-flap', keyOf(pod), [`pod:${keyOf(pod)}`], this.#flap(keyOf(pod)));
      }
      case 'node-drain': {
        const node = this.#pickDrainableNode();
        return node && this.#action('node-drain', node.metadata.name, [`node:${node.metadata.name}`], this.#drain(node.metadata.name));
      }
      case undefined:
        return undefined;
    }
  }

  #action(action: ChurnActionKind, target: string, locks: string[], run: Generator<string, string, void>): Action {
    for (const lock of locks) this.#locks.add(lock);
    return { action, target, locks, run };
  }

  // -- actions -----------------------------------------------------------------------------------

  *#rollout(key: string): Generator<string, string, void> {
    const current = this.#deployment(key);
    if (current === undefined) return 'deployment gone';
    const deployment = this.cluster.update(restartedTemplate(current, this.#now()));
    const hash = templateHash(deployment);
    yield 'template updated';
    const surge = Math.max(1, Math.ceil(deployment.spec.replicas * 0.25));
    for (;;) {
      const latest = this.#deployment(key);
      if (latest === undefined) return 'deployment gone';
      const live = this.#livePods(latest);
      const old = live.filter((p) => p.metadata.labels?.[LabelPodTemplateHash] !== hash);
      // Top up too, as the ReplicaSet controller would, if pods went missing meanwhile.
      const missing = Math.max(0, latest.spec.replicas - live.length);
      if (old.length === 0 && missing === 0) break;
      const batch = Math.min(surge, old.length);

      const created: string[] = [];
      for (let i = 0; i < batch + missing; i++) {
        const pod = this.#createPod(latest);
        if (pod !== undefined) created.push(pod.metadata.name);
      }
      if (created.length === 0 && batch === 0) break;
      yield 'surge created';
      this.#eachPod(latest, created, (pod) => this.#start(pod));
      yield 'surge running';
      this.#eachPod(latest, created, (pod) => podWithReadiness(pod, true, this.#time()));
      yield 'surge ready';

      const victims = this.#livePods(latest)
        .filter((p) => p.metadata.labels?.[LabelPodTemplateHash] !== hash)
        .slice(0, batch)
        .map((p) => p.metadata.name);
      if (victims.length === 0) continue;
      this.#eachPod(latest, victims, (pod) => podTerminating(pod, this.#now()));
      yield 'old terminating';
      this.#eachPod(latest, victims, (pod) => podWithReadiness(pod, false, this.#time()));
      yield 'old not ready';
      for (const name of victims) this.#deletePod(latest.metadata.namespace, name);
      yield 'old deleted';
    }
    this.#updateDeploymentStatus(key);
    return 'complete';
  }

  *#flap(key: string): Generator<string, string, void> {
    const [namespace, name] = splitKey(key);
    const pod = this.cluster.get<PodJson>('Pod', namespace, name);
    if (pod === undefined || pod.metadata.deletionTimestamp !== undefined || !isPodReady(pod)) return 'skipped';
    this.#updatePod(podWithReadiness(pod, false, this.#time()));
    yield 'not ready';
    const later = this.cluster.get<PodJson>('Pod', namespace, name);
    if (later === undefined || later.metadata.deletionTimestamp !== undefined) return 'pod gone';
    this.#updatePod(podWithReadiness(later, true, this.#time()));
    return 'ready again';
  }

  *#drain(nodeName: string): Generator<string, string, void> {
    const node = this.cluster.get<NodeJson>('Node', undefined, nodeName);
    if (node === undefined) return 'node gone';
    this.cluster.update(cordoned(node, this.#time()));
    yield 'cordoned';

    const victims = this.cluster.list<PodJson>('Pod').filter((p) => p.spec.nodeName === nodeName && p.metadata.deletionTimestamp === undefined);
    const replacements: { namespace: string; name: string }[] = [];
    for (const victim of victims) {
      this.#updatePod(podTerminating(victim, this.#now()));
      const deployment = this.#deploymentOf(victim);
      // The ReplicaSet replaces an evicted pod unless its Deployment is scaled to zero.
      if (deployment !== undefined && deployment.spec.replicas > 0) {
        const replacement = this.#createReplacement(victim);
        if (replacement !== undefined) replacements.push({ namespace: replacement.metadata.namespace ?? '', name: replacement.metadata.name });
      }
    }
    yield 'evicted';
    for (const victim of victims) this.#mapPod(victim.metadata.namespace, victim.metadata.name, (pod) => podWithReadiness(pod, false, this.#time()));
    for (const r of replacements) this.#mapPod(r.namespace, r.name, (pod) => this.#start(pod));
    yield 'stopping';
    for (const victim of victims) this.#deletePod(victim.metadata.namespace, victim.metadata.name);
    for (const r of replacements) this.#mapPod(r.namespace, r.name, (pod) => podWithReadiness(pod, true, this.#time()));
    yield 'rescheduled';
    const latest = this.cluster.get<NodeJson>('Node', undefined, nodeName);
    if (latest !== undefined) this.cluster.update(uncordoned(latest));
    return 'uncordoned';
  }

  *#scaleToZero(key: string): Generator<string, string, void> {
    const deployment = this.#deployment(key);
    if (deployment === undefined) return 'deployment gone';
    const replicas = deployment.spec.replicas;
    const scaled = this.cluster.update(withReplicas(deployment, 0));
    const pods = this.#podsOf(scaled).map((p) => p.metadata.name);
    this.#eachPod(scaled, pods, (pod) => (pod.metadata.deletionTimestamp === undefined ? podTerminating(pod, this.#now()) : pod));
    yield 'scaled to zero';
    this.#eachPod(scaled, pods, (pod) => podWithReadiness(pod, false, this.#time()));
    yield 'stopping';
    for (const name of this.#podsOf(scaled).map((p) => p.metadata.name)) this.#deletePod(scaled.metadata.namespace, name);
    yield 'no pods';

    const latest = this.#deployment(key);
    if (latest === undefined) return 'deployment gone';
    const restored = this.cluster.update(withReplicas(latest, replicas));
    const created: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const pod = this.#createPod(restored);
      if (pod !== undefined) created.push(pod.metadata.name);
    }
    yield 'scaled up';
    this.#eachPod(restored, created, (pod) => this.#start(pod));
    yield 'running';
    this.#eachPod(restored, created, (pod) => podWithReadiness(pod, true, this.#time()));
    this.#updateDeploymentStatus(key);
    return 'ready';
  }

  // -- pods --------------------------------------------------------------------------------------

  /** A new Pending pod of the Deployment's current template on a schedulable node. */
  #createPod(deployment: DeploymentJson): PodJson | undefined {
    const node = this.#scheduleNode();
    if (node === undefined) return undefined;
    const hash = templateHash(deployment);
    const namespace = deployment.metadata.namespace ?? 'default';
    const name = this.#uniquePodName(namespace, `${deployment.metadata.name}-${hash}-`);
    const pod = newPod(
      {
        deployment,
        name,
        uid: this.#rng.uuid(),
        createdAt: this.#time(),
        placement: { node, podIPs: [] },
        stage: 'pending',
        containerIDs: [],
      },
      hash,
    );
    return this.#createPodObject(pod);
  }

  #createReplacement(victim: PodJson): PodJson | undefined {
    const node = this.#scheduleNode(victim.spec.nodeName);
    if (node === undefined) return undefined;
    const namespace = victim.metadata.namespace ?? 'default';
    const name = this.#uniquePodName(namespace, victim.metadata.generateName ?? `${victim.metadata.name}-`);
    return this.#createPodObject(replacementPod(victim, { name, uid: this.#rng.uuid(), createdAt: this.#time(), node }));
  }

  #createPodObject(pod: PodJson): PodJson {
    const stored = this.cluster.create(pod);
    this.#touched.push(stored);
    return stored;
  }

  /** Pending → Running, not ready, with IPs from the node's pod CIDRs. */
  #start(pod: PodJson): PodJson {
    const node = pod.spec.nodeName ? this.cluster.get<NodeJson>('Node', undefined, pod.spec.nodeName) : undefined;
    if (node === undefined || pod.status.phase !== 'Pending') return pod;
    const podIPs = this.#allocateIPs(node);
    if (podIPs.length === 0) return pod;
    const ids = pod.spec.containers.map(() => this.#rng.hex(64));
    return podStarted(pod, { node, podIPs }, this.#time(), ids);
  }

  #eachPod(deployment: DeploymentJson, names: readonly string[], change: (pod: PodJson) => PodJson): void {
    for (const name of names) this.#mapPod(deployment.metadata.namespace, name, change);
  }

  /** Re-reads the pod (others may have changed or deleted it) and stores `change(pod)` if it differs. */
  #mapPod(namespace: string | undefined, name: string, change: (pod: PodJson) => PodJson): void {
    const pod = this.cluster.get<PodJson>('Pod', namespace, name);
    if (pod === undefined) return;
    const next = change(pod);
    if (next !== pod) this.#updatePod(next);
  }

  #updatePod(pod: PodJson): void {
    const old = this.cluster.get<PodJson>('Pod', pod.metadata.namespace, pod.metadata.name);
    const stored = this.cluster.update(pod);
    if (old !== undefined) this.#touched.push(old);
    this.#touched.push(stored);
  }

  #deletePod(namespace: string | undefined, name: string): void {
    const pod = this.cluster.get<PodJson>('Pod', namespace, name);
    if (pod === undefined) return;
    this.cluster.delete('Pod', namespace, name);
    this.#releaseIPs(pod);
    this.#touched.push(pod);
  }

  #uniquePodName(namespace: string, prefix: string): string {
    let name: string;
    do name = `${prefix}${this.#rng.suffix()}`;
    while (this.cluster.get('Pod', namespace, name) !== undefined);
    return name;
  }

  // -- the EndpointSlice controller --------------------------------------------------------------

  /** Syncs every Service that selects a pod touched in this step (old or new state). */
  #syncDirtyServices(): void {
    if (this.#touched.length === 0) return;
    const byNamespace = new Map<string, PodJson[]>();
    for (const pod of this.#touched) {
      const ns = pod.metadata.namespace ?? '';
      const list = byNamespace.get(ns) ?? [];
      list.push(pod);
      byNamespace.set(ns, list);
    }
    this.#touched = [];
    for (const [namespace, pods] of byNamespace) {
      for (const service of this.cluster.list<ServiceJson>('Service', namespace)) {
        if (pods.some((pod) => selectsPod(service, pod))) this.#syncService(service);
      }
    }
  }

  #syncService(service: ServiceJson): void {
    const namespace = service.metadata.namespace;
    const pods = this.cluster.list<PodJson>('Pod', namespace).filter((pod) => selectsPod(service, pod));
    const existing = this.cluster
      .list<EndpointSliceJson>('EndpointSlice', namespace)
      .filter((s) => s.metadata.labels?.[LabelServiceName] === service.metadata.name && s.metadata.labels?.[LabelManagedBy] === ControllerEndpointSlice);
    const changes = reconcileEndpointSlices({
      service,
      pods,
      existing,
      getNode: (name) => this.cluster.get<NodeJson>('Node', undefined, name),
      maxEndpointsPerSlice: this.maxEndpointsPerSlice,
      triggerTime: new Date(this.#now()).toISOString(),
    });
    const now = this.#time();
    for (const slice of changes.create) {
      let name: string;
      do name = `${slice.metadata.generateName ?? `${service.metadata.name}-`}${this.#rng.suffix()}`;
      while (this.cluster.get('EndpointSlice', namespace, name) !== undefined);
      this.cluster.create({ ...slice, metadata: { ...slice.metadata, name, uid: this.#rng.uuid(), creationTimestamp: now } });
    }
    for (const slice of changes.update) this.cluster.update(slice);
    for (const slice of changes.delete) this.cluster.delete('EndpointSlice', namespace, slice.metadata.name);
  }

  // -- scheduling and addresses ------------------------------------------------------------------

  #ensureIndexes(): void {
    if (this.#hostsByNode !== undefined) return;
    const hosts = new Map<string, Set<number>>();
    for (const pod of this.cluster.list<PodJson>('Pod')) {
      const nodeName = pod.spec.nodeName;
      const v4 = podIPsOf(pod).find((ip) => !ip.includes(':'));
      if (!nodeName || v4 === undefined) continue;
      let set = hosts.get(nodeName);
      if (set === undefined) hosts.set(nodeName, (set = new Set()));
      set.add(Number(v4.slice(v4.lastIndexOf('.') + 1)));
    }
    this.#hostsByNode = hosts;
  }

  /** A random schedulable node with room (not cordoned, no NoSchedule taint), other than `avoid`. */
  #scheduleNode(avoid?: string): NodeJson | undefined {
    const count = this.cluster.count('Node');
    const start = this.#rng.int(Math.max(1, count));
    for (let k = 0; k < count; k++) {
      const node = this.cluster.nth<NodeJson>('Node', (start + k) % count);
      if (node === undefined || node.metadata.name === avoid || !schedulable(node)) continue;
      const used = this.#hostsByNode?.get(node.metadata.name)?.size ?? 0;
      const maxPods = Number(node.status.allocatable['pods'] ?? 110);
      if (used < Math.min(maxPods, 253)) return node;
    }
    return undefined;
  }

  /** The next free host number in the node's /24 (IPv4) and the same in its IPv6 /64. */
  #allocateIPs(node: NodeJson): string[] {
    const cidrs = node.spec.podCIDRs ?? (node.spec.podCIDR ? [node.spec.podCIDR] : []);
    const v4 = cidrs.find((c) => !c.includes(':'));
    if (v4 === undefined) return [];
    const hosts = this.#hostsByNode ?? new Map<string, Set<number>>();
    let used = hosts.get(node.metadata.name);
    if (used === undefined) hosts.set(node.metadata.name, (used = new Set()));
    let host = 2;
    while (used.has(host) && host < 255) host++;
    if (host >= 255) return [];
    used.add(host);
    const base4 = v4.slice(0, v4.lastIndexOf('.') + 1);
    const v6 = cidrs.find((c) => c.includes(':'));
    const ips = [`${base4}${host}`];
    if (v6 !== undefined) ips.push(`${v6.slice(0, v6.indexOf('::') + 2)}${host.toString(16)}`);
    return ips;
  }

  #releaseIPs(pod: PodJson): void {
    const v4 = podIPsOf(pod).find((ip) => !ip.includes(':'));
    if (!pod.spec.nodeName || v4 === undefined) return;
    this.#hostsByNode?.get(pod.spec.nodeName)?.delete(Number(v4.slice(v4.lastIndexOf('.') + 1)));
  }

  // -- picking targets ---------------------------------------------------------------------------

  #pickDeployment(accept: (d: DeploymentJson) => boolean): DeploymentJson | undefined {
    const count = this.cluster.count('Deployment');
    for (let attempt = 0; attempt < 20 && count > 0; attempt++) {
      const deployment = this.cluster.nth<DeploymentJson>('Deployment', this.#rng.int(count));
      if (deployment !== undefined && accept(deployment) && !this.#locks.has(`deployment:${keyOf(deployment)}`)) return deployment;
    }
    return undefined;
  }

  #pickReadyPod(): PodJson | undefined {
    const count = this.cluster.count('Pod');
    for (let attempt = 0; attempt < 20 && count > 0; attempt++) {
      const pod = this.cluster.nth<PodJson>('Pod', this.#rng.int(count));
      if (pod === undefined || pod.metadata.deletionTimestamp !== undefined || !isPodReady(pod)) continue;
      if (this.#locks.has(`pod:${keyOf(pod)}`)) continue;
      return pod;
    }
    return undefined;
  }

  #pickDrainableNode(): NodeJson | undefined {
    const count = this.cluster.count('Node');
    for (let attempt = 0; attempt < 20 && count > 0; attempt++) {
      const node = this.cluster.nth<NodeJson>('Node', this.#rng.int(count));
      if (node !== undefined && schedulable(node) && !this.#locks.has(`node:${node.metadata.name}`)) return node;
    }
    return undefined;
  }

  // -- deployments -------------------------------------------------------------------------------

  #deployment(key: string): DeploymentJson | undefined {
    const [namespace, name] = splitKey(key);
    return this.cluster.get<DeploymentJson>('Deployment', namespace, name);
  }

  /** The Deployment whose selector matches the pod and whose name prefixes its ReplicaSet's. */
  #deploymentOf(pod: PodJson): DeploymentJson | undefined {
    const rs = pod.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;
    if (rs === undefined) return undefined;
    const name = rs.slice(0, rs.lastIndexOf('-'));
    const deployment = this.cluster.get<DeploymentJson>('Deployment', pod.metadata.namespace, name);
    return deployment !== undefined && labelsMatch(deployment.spec.selector.matchLabels, pod.metadata.labels) ? deployment : undefined;
  }

  /** All pods of the Deployment, terminating ones included. */
  #podsOf(deployment: DeploymentJson): PodJson[] {
    const prefix = `${deployment.metadata.name}-`;
    return this.cluster
      .list<PodJson>('Pod', deployment.metadata.namespace)
      .filter((p) => labelsMatch(deployment.spec.selector.matchLabels, p.metadata.labels) && p.metadata.ownerReferences?.some((o) => o.name.startsWith(prefix)));
  }

  /** Pods of the Deployment without a deletionTimestamp. */
  #livePods(deployment: DeploymentJson): PodJson[] {
    return this.#podsOf(deployment).filter((p) => p.metadata.deletionTimestamp === undefined);
  }

  #updateDeploymentStatus(key: string): void {
    const deployment = this.#deployment(key);
    if (deployment === undefined) return;
    const live = this.#livePods(deployment);
    const ready = live.filter(isPodReady).length;
    const hash = templateHash(deployment);
    this.cluster.update({
      ...deployment,
      status: {
        ...deployment.status,
        observedGeneration: deployment.metadata.generation ?? 1,
        replicas: live.length,
        updatedReplicas: live.filter((p) => p.metadata.labels?.[LabelPodTemplateHash] === hash).length,
        readyReplicas: ready,
        availableReplicas: ready,
      },
    });
  }

  #now(): number {
    return this.cluster.now();
  }

  #time(): string {
    return rfc3339(this.cluster.now());
  }
}

// Private:

interface Action {
  readonly action: ChurnActionKind;
  readonly target: string;
  readonly locks: readonly string[];
  readonly run: Generator<string, string, void>;
}

function keyOf(object: { readonly metadata: { readonly namespace?: string; readonly name: string } }): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

function splitKey(key: string): [string | undefined, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
}

function schedulable(node: NodeJson): boolean {
  if (node.spec.unschedulable === true) return false;
  return !(node.spec.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
}

function cordoned(node: NodeJson, at: string): NodeJson {
  const taint: TaintJson = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: at };
  return { ...node, spec: { ...node.spec, unschedulable: true, taints: [...(node.spec.taints ?? []), taint] } };
}

function uncordoned(node: NodeJson): NodeJson {
  const { unschedulable: _u, taints, ...spec } = node.spec;
  const kept = (taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/unschedulable');
  return { ...node, spec: { ...spec, ...(kept.length > 0 ? { taints: kept } : {}) } };
}

/** `kubectl rollout restart`: a new restartedAt annotation on the template (so a new pod-template-hash);
 *  a Deployment with the alternate-port annotation also swaps its `http` container port. */
function restartedTemplate(deployment: DeploymentJson, nowMs: number): DeploymentJson {
  const template = deployment.spec.template;
  const alternate = deployment.metadata.annotations?.[AnnotationAlternatePort];
  let containers = template.spec.containers;
  let annotations = deployment.metadata.annotations ?? {};
  if (alternate !== undefined) {
    const current = containers[0]?.ports?.find((p) => p.name === 'http')?.containerPort;
    if (current !== undefined) {
      containers = containers.map((c, i) =>
        i === 0 ? { ...c, ports: (c.ports ?? []).map((p) => (p.name === 'http' ? { ...p, containerPort: Number(alternate) } : p)) } : c,
      );
      annotations = { ...annotations, [AnnotationAlternatePort]: String(current) };
    }
  }
  const revision = Number(annotations['deployment.kubernetes.io/revision'] ?? '1') + 1;
  return {
    ...deployment,
    metadata: {
      ...deployment.metadata,
      generation: (deployment.metadata.generation ?? 1) + 1,
      annotations: { ...annotations, 'deployment.kubernetes.io/revision': String(revision) },
    },
    spec: {
      ...deployment.spec,
      template: {
        metadata: {
          ...template.metadata,
          annotations: { ...(template.metadata.annotations ?? {}), 'kubectl.kubernetes.io/restartedAt': new Date(nowMs).toISOString() },
        },
        spec: { ...template.spec, containers },
      },
    },
  };
}

function withReplicas(deployment: DeploymentJson, replicas: number): DeploymentJson {
  return {
    ...deployment,
    metadata: { ...deployment.metadata, generation: (deployment.metadata.generation ?? 1) + 1 },
    spec: { ...deployment.spec, replicas },
  };
}
