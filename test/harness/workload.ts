/**
 * Deployment-like pod groups on the real control plane without a scheduler or kubelets: pods
 * named `<app>-<i>` with label app=<app>, spread over the given nodes, each with its own IP,
 * made ready or not by patching status (as kwok does).
 */
import type { KubeClient } from './kube-client.ts';

export class Workloads {
  private readonly kube: KubeClient;
  private readonly prefix: string;
  private nextIp = 1;
  /** `namespace/app` → pod name → IP */
  private readonly pods = new Map<string, Map<string, string>>();

  /** @param ipPrefix first two octets of the pod IPs handed out, e.g. "10.20" */
  constructor(kube: KubeClient, ipPrefix: string) {
    this.kube = kube;
    this.prefix = ipPrefix;
  }

  /** Pod name → IP of one app. */
  podsOf(namespace: string, app: string): Map<string, string> {
    const key = `${namespace}/${app}`;
    let m = this.pods.get(key);
    if (!m) this.pods.set(key, (m = new Map()));
    return m;
  }

  /** Create or delete pods until the app has `replicas`; new pods are made ready unless `ready` is false. */
  async scale(namespace: string, app: string, replicas: number, nodes: readonly string[], ready = true): Promise<void> {
    const pods = this.podsOf(namespace, app);
    for (let i = 0; i < replicas; i++) {
      const name = `${app}-${i}`;
      if (pods.has(name)) continue;
      const ip = this.ip();
      await this.kube.createPod({ namespace, name, labels: { app }, nodeName: nodes[i % nodes.length]! });
      await this.kube.setPodReady(namespace, name, [ip], ready);
      pods.set(name, ip);
    }
    for (const name of [...pods.keys()]) {
      if (Number(name.slice(app.length + 1)) >= replicas) {
        await this.kube.deletePod(namespace, name);
        pods.delete(name);
      }
    }
  }

  async setReady(namespace: string, app: string, podName: string, ready: boolean): Promise<void> {
    const ip = this.podsOf(namespace, app).get(podName);
    if (!ip) throw new Error(`workload: expected a pod of ${namespace}/${app}, got ${podName}`);
    await this.kube.setPodReady(namespace, podName, [ip], ready);
  }

  private ip(): string {
    const n = this.nextIp++;
    return `${this.prefix}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }
}
