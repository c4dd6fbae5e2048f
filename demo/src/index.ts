/**
 * The embedded demo cluster in one call: a generated cluster (generate.ts) in a store
 * (cluster.ts), churned on a timer (churn.ts), served over loopback in the Kubernetes list/watch
 * wire format (server.ts). Point a reflector at `url` as at any kube-apiserver (plain HTTP, no
 * auth on lists and watches; it answers TokenReviews and SubjectAccessReviews for the demo
 * users of reviews.ts).
 */
import { generateCluster, loadCluster } from './generate.ts';
import type { ClusterShape, PresetName } from './generate.ts';
import { Churn } from './churn.ts';
import type { ChurnOptions } from './churn.ts';
import { startSimServer } from './server.ts';
import type { SimServer, SimServerOptions } from './server.ts';
import type { Cluster, ClusterOptions } from './cluster.ts';

export type { ClusterShape, GeneratedCluster, PresetName } from './generate.ts';
export { generateCluster, loadCluster, Presets } from './generate.ts';
export { Cluster, ExpiredError, TooLargeError } from './cluster.ts';
export type { ClusterEvent, ClusterOptions } from './cluster.ts';
export { Churn } from './churn.ts';
export type { ChurnActionKind, ChurnOptions, ChurnStep } from './churn.ts';
export { startSimServer } from './server.ts';
export type { SimServer, SimServerOptions, UnavailableMode } from './server.ts';
export { DemoAudience, DemoShopNamespace, DemoTokens } from './reviews.ts';

export interface SimClusterOptions {
  /** @default 'demo' */
  readonly preset?: PresetName | ClusterShape;
  /** @default 1 */
  readonly seed?: number;
  /** The cluster's "now" for creation timestamps. @default Date.now() */
  readonly baseTime?: number;
  /** Store options (history bounds, clock). */
  readonly cluster?: ClusterOptions;
  /** Churn options, or false for a still cluster. @default {} // churn at its default rate */
  readonly churn?: false | Omit<ChurnOptions, 'cluster'>;
  /** Server options (host, port, bookmark cadence…). */
  readonly server?: Omit<SimServerOptions, 'cluster'>;
}

export interface SimCluster {
  readonly cluster: Cluster;
  /** undefined when churn is off. */
  readonly churn: Churn | undefined;
  readonly server: SimServer;
  /** The server's base URL, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops churn, then the server (ending every watch). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Generates, loads, serves and (unless `churn: false`) churns a cluster; resolves once serving.
 * @throws RangeError for an impossible shape; the listen error when the port cannot be bound.
 */
export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const generated = generateCluster(options.preset ?? 'demo', { seed: options.seed ?? 1, baseTime: options.baseTime ?? Date.now() });
  const cluster = loadCluster(generated, options.cluster);
  const server = await startSimServer({ ...options.server, cluster });
  const churn = options.churn === false ? undefined : new Churn({ seed: options.seed ?? 1, ...options.churn, cluster });
  churn?.start();
  let stopped: Promise<void> | undefined;
  return {
    cluster,
    churn,
    server,
    url: server.url,
    stop() {
      stopped ??= (async () => {
        churn?.stop();
        await server.stop();
      })();
      return stopped;
    },
  };
}
