// @kubernetes/client-node's KubeConfig without the library's generated API clients.
//
// The gateway uses client-node for kubeconfig, in-cluster config, auth plugins and TLS
// (KubeConfig), never for its generated API clients or models: it lists and watches through its
// own client (src/kube/client.ts). But the module that defines KubeConfig imports the generated
// index (every API class and model of every group and version) for one method the gateway never
// calls (`makeApiClient`), and that index alone is most of the library's cost: about 50 MiB
// resident in a process that loads it (bench/rss.ts). Registered by src/start.js before the
// gateway loads, this resolves that one import, from that one module, to the two names the
// module takes from it, from their own files. Should a later client-node take another name from
// the index there, the gateway would not start (the import cannot be linked) and the start
// tests would say so.
import { registerHooks } from 'node:module';

//
// The same hook keeps undici out: client-node's modules import it at load time for dispatchers
// and a fetch that only its generated API clients use (about 29 MiB resident); from inside
// client-node, `undici` resolves to src/slim-undici.js, whose classes and fetch refuse, naming
// why. Should a later client-node take another name from undici, the import cannot be linked
// and the start tests say so.

/** The module whose import is narrowed, and the specifier it imports the generated index by. */
const Importer = '/node_modules/@kubernetes/client-node/dist/config.js';
const GeneratedIndex = './gen/index.js';
const Narrowed = new URL('./slim-client-node-gen.js', import.meta.url).href;
/** client-node's own modules, and what they import undici as. */
const ClientNode = '/node_modules/@kubernetes/client-node/dist/';
const Undici = 'undici';
const NoUndici = new URL('./slim-undici.js', import.meta.url).href;

export function useSlimClientNode() {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === GeneratedIndex && context.parentURL?.endsWith(Importer)) return { url: Narrowed, format: 'module', shortCircuit: true };
      if (specifier === Undici && context.parentURL?.includes(ClientNode)) return { url: NoUndici, format: 'module', shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}
