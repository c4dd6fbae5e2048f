// What @kubernetes/client-node's config.js takes from the generated index, from their own files
// (src/slim-client-node.js).
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
