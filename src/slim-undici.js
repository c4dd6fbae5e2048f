// What @kubernetes/client-node's modules take from undici, for a process that never uses it
// (src/slim-client-node.js). client-node builds undici dispatchers and calls undici's fetch only
// for its generated API clients (`applySecurityAuthentication`, the fetch HTTP library); the
// gateway reaches the API server through node:https with `applyToHTTPSOptions` (src/kube/client.ts).
// Loading undici anyway costs about 29 MiB resident. Anything that does reach for it here fails
// at once, naming why, rather than working differently.

function unavailable(name) {
  return new Error(`undici.${name}: undici is not loaded in this process; kube-netgraph reaches the API server through node:https (src/slim-undici.js)`);
}

export class Agent {
  constructor() {
    throw unavailable('Agent');
  }
}

export class ProxyAgent {
  constructor() {
    throw unavailable('ProxyAgent');
  }
}

export function fetch() {
  return Promise.reject(unavailable('fetch'));
}
