/**
 * Load side of bench/fanout.ts (a child process, so the server's CPU is measured alone): opens
 * N graphql-transport-ws sockets, subscribes each to the same operation, counts change frames
 * and records each frame's delay from the change's `at` to its arrival. Talks to the parent
 * over IPC: 'ready' once every socket is subscribed, then reports on 'report'.
 */
import WebSocket from 'ws';

const [url, nArg, query] = process.argv.slice(2) as [string, string, string];
const n = Number(nArg);
let frames = 0;
const delays: number[] = [];
let subscribed = 0;
const sockets: WebSocket[] = [];

function open(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['graphql-transport-ws'], { perMessageDeflate: false });
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('open', () => ws.send('{"type":"connection_init"}'));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query } }));
        subscribed++;
        resolve();
        return;
      }
      // Parse only what we need: the change's timestamp.
      const at = /"at":"([^"]+)"/.exec(text);
      if (at) {
        frames++;
        delays.push(Date.now() - Date.parse(at[1]!));
      }
    });
  });
}

for (let i = 0; i < n; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => open(i + j)));
}
process.send!({ type: 'ready', subscribed });
process.on('message', (m: any) => {
  if (m?.type === 'report') {
    const sorted = [...delays].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
    process.send!({ type: 'report', frames, p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? NaN });
  }
  if (m?.type === 'stop') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
