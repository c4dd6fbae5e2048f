/**
 * Runs the simulated cluster on its own, for demos, benchmarks and poking with curl:
 *
 *   node demo/src/serve.ts [--preset demo|large] [--seed 1] [--host 127.0.0.1] [--port 8001]
 *                         [--events-per-second 20] [--no-churn] [--bookmark-interval-ms 60000]
 *   node demo/src/serve.ts --measure [--preset large]   # generation time and memory, then exit
 *
 * Timestamps are relative to now (not the generator's fixed default). SIGINT/SIGTERM stop churn
 * and the server, then exit.
 */
import { parseArgs } from 'node:util';
import { generateCluster, loadCluster, Presets } from './generate.ts';
import type { PresetName } from './generate.ts';
import { Churn } from './churn.ts';
import { startSimServer } from './server.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'demo' },
    seed: { type: 'string', default: '1' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8001' },
    'events-per-second': { type: 'string', default: '20' },
    'no-churn': { type: 'boolean', default: false },
    'bookmark-interval-ms': { type: 'string', default: '60000' },
    measure: { type: 'boolean', default: false },
  },
});

const preset = values.preset as PresetName;
if (!(preset in Presets)) {
  console.error(`--preset: expected one of ${Object.keys(Presets).join(', ')}, but got: ${values.preset}`);
  process.exit(2);
}

const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
const generated = generateCluster(preset, { seed: Number(values.seed), baseTime: Date.now() });
const generatedMs = performance.now() - started;
const cluster = loadCluster(generated);
const loadedMs = performance.now() - started;
const mb = (bytes: number): string => `${Math.round(bytes / 1_048_576)} MiB`;
console.log(
  `sim: ${preset} cluster: ${generated.nodes.length} nodes, ${generated.services.length} services, ${generated.pods.length} pods, ` +
    `${generated.endpointSlices.length} slices; generated in ${Math.round(generatedMs)} ms, loaded in ${Math.round(loadedMs)} ms; ` +
    `heap +${mb(process.memoryUsage().heapUsed - heapBefore)}, rss ${mb(process.memoryUsage().rss)}`,
);
if (values.measure) process.exit(0);

const server = await startSimServer({ cluster, host: values.host, port: Number(values.port), bookmarkIntervalMs: Number(values['bookmark-interval-ms']) });
const churn = new Churn({ cluster, seed: Number(values.seed), eventsPerSecond: Number(values['events-per-second']) });
if (!values['no-churn']) churn.start();
console.log(`sim: serving ${server.url} (try: curl '${server.url}/api/v1/pods?limit=5', or kubectl --server ${server.url} get pods -A)`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  churn.stop();
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
