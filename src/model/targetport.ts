/**
 * Named targetPort resolution, as the EndpointSlice controller does it per pod
 * (k8s.io/kubernetes/pkg/api/v1/pod: FindPort).
 */

import type { PodRecord, ServicePort } from '../kube/records.ts';

/**
 * The pod port a Service port sends traffic to. A numeric targetPort is returned as is. A
 * named one resolves to the container port with the same name and protocol, searching regular
 * containers first, then sidecar (restartable init) containers, each in pod order; the first
 * match wins. An empty protocol counts as TCP, the API server's default. `null` when no
 * container port matches: the controller then leaves the pod out of that port's slices.
 *
 * A name is never parsed as a number: `"8080"` is looked up as a port name.
 */
export function resolveTargetPort(port: ServicePort, pod: PodRecord): number | null {
  if (typeof port.targetPort === 'number') return port.targetPort;
  const name = port.targetPort;
  const protocol = protocolOf(port.protocol);
  for (const sidecar of [false, true]) {
    for (const container of pod.containers) {
      if (container.sidecar !== sidecar) continue;
      for (const p of container.ports) {
        if (p.name === name && protocolOf(p.protocol) === protocol) return p.containerPort;
      }
    }
  }
  return null;
}

// Private:

function protocolOf(protocol: string): string {
  return protocol === '' ? 'TCP' : protocol;
}
