import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateCluster, loadCluster } from '../src/generate.ts';
import { Churn } from '../src/churn.ts';
import type { ChurnActionKind, ChurnOptions, ChurnStep } from '../src/churn.ts';
import type { Cluster, ClusterEvent } from '../src/cluster.ts';
import type { DeploymentJson, EndpointSliceJson, NodeJson, PodJson, ServiceJson } from '../src/types.ts';
import { sliceDrift } from './testing.ts';
import { waitFor } from '../../test/harness/wait.ts';

const generated = generateCluster('demo', { seed: 11 });

function setup(options: Partial<ChurnOptions> = {}, now?: () => number): { cluster: Cluster; churn: Churn; events: ClusterEvent[] } {
  const cluster = loadCluster(generated, { historyLimit: 1_000_000, ...(now !== undefined ? { now } : {}) });
  const events: ClusterEvent[] = [];
  cluster.subscribe((e) => events.push(e));
  return { cluster, churn: new Churn({ cluster, seed: 3, ...options }), events };
}

function only(kind: ChurnActionKind): Partial<Record<ChurnActionKind, number>> {
  return { rollout: 0, 'readiness-flap': 0, 'node-drain': 0, 'scale-to-zero': 0, [kind]: 1 };
}

function slicesOf(cluster: Cluster, namespace: string, service: string): EndpointSliceJson[] {
  return cluster.list<EndpointSliceJson>('EndpointSlice', namespace).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === service);
}

describe('Churn', () => {
  it('keeps every Service’s slices equal to what the controller would write, after every step', () => {
    const { cluster, churn } = setup();
    const podsBefore = cluster.count('Pod');
    for (let i = 0; i < 500; i++) {
      const step = churn.step();
      const drift = sliceDrift(cluster);
      assert.deepEqual(drift, [], `after step ${i} (${step.action} ${step.target}: ${step.phase})`);
    }
    assert.ok(Math.abs(cluster.count('Pod') - podsBefore) <= 40, `pods: ${podsBefore} → ${cluster.count('Pod')}`);
  });

  it('runs every kind of action to completion', () => {
    const { churn } = setup();
    const finished = new Set(churn.steps(1_500).map((s) => `${s.action}:${s.phase}`));
    for (const done of ['rollout:complete', 'readiness-flap:ready again', 'node-drain:uncordoned', 'scale-to-zero:ready']) {
      assert.ok(finished.has(done), `${done} in ${[...finished].sort().join(', ')}`);
    }
  });

  it('writes endpoint conditions by the controller’s rules through rollouts: new not-ready, old serving+terminating, then not serving', () => {
    const { churn, events } = setup({ weights: only('rollout') });
    churn.steps(300);
    const states = new Set<string>();
    for (const event of events) {
      if (event.kind !== 'EndpointSlice' || event.type === 'DELETED') continue;
      const slice = event.object as EndpointSliceJson;
      const publishNotReady = slice.metadata.labels?.['kubernetes.io/service-name'] === 'ledger-db';
      for (const endpoint of slice.endpoints ?? []) {
        const { ready, serving, terminating } = endpoint.conditions;
        assert.equal(ready, publishNotReady || (serving === true && terminating === false), JSON.stringify(endpoint));
        states.add(`serving=${serving},terminating=${terminating}`);
      }
    }
    assert.deepEqual([...states].sort(), [
      'serving=false,terminating=false',
      'serving=false,terminating=true',
      'serving=true,terminating=false',
      'serving=true,terminating=true',
    ]);
  });

  it('gives a Pending pod (no IP yet) no endpoint', () => {
    const { cluster, churn } = setup({ weights: only('rollout') });
    let sawPending = false;
    for (let i = 0; i < 200; i++) {
      const step = churn.step();
      if (step.phase !== 'surge created') continue;
      const pending = cluster.list<PodJson>('Pod').filter((p) => p.status.phase === 'Pending');
      assert.ok(pending.length > 0);
      const names = new Set(cluster.list<EndpointSliceJson>('EndpointSlice').flatMap((s) => (s.endpoints ?? []).map((e) => e.targetRef?.name)));
      assert.ok(pending.every((p) => !names.has(p.metadata.name)));
      sawPending = true;
    }
    assert.ok(sawPending);
  });

  it('a rollout of the port-flipping Deployment has slices for two port numbers midway', () => {
    const { cluster, churn } = setup({ weights: only('rollout'), maxConcurrentActions: 3 });
    const ports = (): number[] => [...new Set(slicesOf(cluster, 'shop', 'cart').flatMap((s) => (s.ports ?? []).map((p) => p.port ?? 0)))].sort();
    assert.deepEqual(ports(), [8080]);
    let both = false;
    for (let i = 0; i < 3_000 && !both; i++) {
      churn.step();
      both = ports().length === 2;
    }
    assert.ok(both, 'cart had 8080 and 8081 slices at once');
  });

  it('scaling a Deployment to zero leaves its Service a placeholder slice, and scaling back restores endpoints', () => {
    const { cluster, churn } = setup({ weights: only('scale-to-zero'), maxConcurrentActions: 1 });
    let target: DeploymentJson | undefined;
    let sawPlaceholder = false;
    for (let i = 0; i < 20; i++) {
      const step: ChurnStep = churn.step();
      const [namespace, name] = step.target.split('/');
      target = cluster.get<DeploymentJson>('Deployment', namespace, name ?? '');
      const services = cluster.list<ServiceJson>('Service', namespace).filter((s) => s.spec.selector?.['app'] === name);
      if (step.phase === 'no pods') {
        for (const service of services) {
          const slices = slicesOf(cluster, namespace ?? '', service.metadata.name);
          assert.ok(slices.length >= 1 && slices.every((s) => s.endpoints === null), `${service.metadata.name} holds only placeholders`);
        }
        sawPlaceholder = services.length > 0;
      }
      if (step.phase === 'ready') {
        assert.ok(target && target.spec.replicas > 0);
        for (const service of services) {
          const endpoints = slicesOf(cluster, namespace ?? '', service.metadata.name).flatMap((s) => s.endpoints ?? []);
          assert.equal(endpoints.filter((e) => e.conditions.ready).length, target?.spec.replicas);
        }
        break;
      }
    }
    assert.ok(sawPlaceholder);
  });

  it('never scales shop/frontend to zero (the route examples follow it to its pods), but scales other small Deployments', () => {
    const { cluster, churn } = setup({ weights: only('scale-to-zero'), maxConcurrentActions: 4 });
    const scaled = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const step = churn.step();
      if (step.phase === 'no pods') scaled.add(step.target);
      assert.ok((cluster.get<DeploymentJson>('Deployment', 'shop', 'frontend')?.spec.replicas ?? 0) > 0, `step ${i}: shop/frontend has replicas`);
    }
    assert.ok(!scaled.has('shop/frontend'));
    assert.ok(scaled.size >= 3, `several Deployments were scaled to zero: ${[...scaled].join(', ')}`);
  });

  it('a node drain cordons the node, moves its pods elsewhere, then uncordons it', () => {
    const { cluster, churn } = setup({ weights: only('node-drain'), maxConcurrentActions: 1 });
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const step = churn.step();
      seen.push(step.phase);
      const node = cluster.get<NodeJson>('Node', undefined, step.target) as NodeJson;
      const podsThere = cluster.list<PodJson>('Pod').filter((p) => p.spec.nodeName === step.target);
      if (step.phase === 'cordoned') assert.equal(node.spec.unschedulable, true);
      if (step.phase === 'evicted') assert.ok(podsThere.every((p) => p.metadata.deletionTimestamp !== undefined));
      if (step.phase === 'rescheduled') assert.deepEqual(podsThere, []);
      if (step.phase === 'uncordoned') {
        assert.equal(node.spec.unschedulable, undefined);
        assert.ok(!(node.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unschedulable'));
      }
    }
    assert.deepEqual(seen, ['cordoned', 'evicted', 'stopping', 'rescheduled', 'uncordoned']);
  });

  it('is deterministic for a seed and a clock', () => {
    const clock = (): number => Date.UTC(2025, 0, 1);
    const summary = (steps: ChurnStep[]): string[] => steps.map((s) => `${s.action} ${s.target} ${s.phase} ${s.events}`);
    assert.deepEqual(summary(setup({}, clock).churn.steps(300)), summary(setup({}, clock).churn.steps(300)));
  });

  it('start() steps on a timer and stop() stops it', async () => {
    const { cluster, churn } = setup({ eventsPerSecond: 5_000 });
    const from = cluster.revision;
    churn.start();
    try {
      assert.equal(churn.running, true);
      await waitFor('200 events from the timer', 5_000, () => cluster.revision >= from + 200);
    } finally {
      churn.stop();
    }
    assert.equal(churn.running, false);
    const stoppedAt = cluster.revision;
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(cluster.revision, stoppedAt);
  });

  it('rejects a non-positive rate, echoing it', () => {
    assert.throws(() => new Churn({ cluster: loadCluster(generated), eventsPerSecond: 0 }), /eventsPerSecond must be positive, but got: 0/);
  });
});
