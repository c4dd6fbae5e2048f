/**
 * Loaded with `node --import test/harness/record-modules.ts` (GatewayProcess's `RecordModulesHook`) into a gateway process a test
 * starts: records the URL of every module the process loads (node:module's synchronous load
 * hook sees static and dynamic imports alike) and, when the process exits, writes them one per
 * line to the file named by NETGRAPH_TEST_MODULES_FILE. Tests read it to assert what a start
 * loads (a production start never loads the demo package).
 */
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

const file = process.env.NETGRAPH_TEST_MODULES_FILE;
if (!file) throw new Error('record-modules: set NETGRAPH_TEST_MODULES_FILE to the file to write');
const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(file, [...loaded].sort().join('\n') + '\n'));
