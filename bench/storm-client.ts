/**
 * Subscriber side of bench/storm.ts (a child process, so the gateway's process holds only the
 * gateway and its HTTP probe): opens S raw graphql-transport-ws sockets, sends M `subscribe`
 * messages on each, and counts SNAPSHOT and CHANGE fields in `next` frames without parsing them
 * (a substring count; each field of a frame is one change set). Talks to the parent over IPC:
 * 'ready' once every socket is acknowledged and subscribed, 'snapshots' when all `want`
 * snapshots have arrived, and a 'report' when asked.
 *
 *   (forked) storm-client.ts URL SOCKETS OPERATIONS_JSON WANT_SNAPSHOTS
 */
import WebSocket from 'ws';

const [url, socketsArg, operationsJson, wantArg] = process.argv.slice(2) as [string, string, string, string];
const nSockets = Number(socketsArg);
const operations = JSON.parse(operationsJson) as string[];
const want = Number(wantArg);
let snapshots = 0;
let changes = 0;
let errors = 0;
let firstError: string | null = null;
let bytes = 0;
let snapshotsAnnounced = false;
const sockets: WebSocket[] = [];

function count(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['graphql-transport-ws'], { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    sockets.push(ws);
    ws.once('error', reject);
    ws.on('open', () => ws.send('{"type":"connection_init"}'));
    ws.on('close', (code, reason) => {
      if (code !== 1000 && code !== 1005 && code !== 1006) {
        errors++;
        firstError ??= `socket closed ${code} ${reason.toString()}`;
      }
    });
    ws.on('message', (data) => {
      const text = data.toString();
      bytes += text.length;
      if (text.startsWith('{"type":"connection_ack"')) return resolve(ws);
      if (text.includes('"type":"error"') || text.includes('"errors":')) {
        errors++;
        firstError ??= text.slice(0, 300);
      }
      snapshots += count(text, '"type":"SNAPSHOT"');
      changes += count(text, '"type":"CHANGE"') + count(text, '"type":"RESYNC"');
      if (!snapshotsAnnounced && snapshots >= want) {
        snapshotsAnnounced = true;
        process.send!({ type: 'snapshots', snapshots });
      }
    });
  });
}

const opened = await Promise.all(Array.from({ length: nSockets }, () => open()));
process.send!({ type: 'ready' });
process.on('message', (m: { type: string }) => {
  if (m.type === 'subscribe') {
    for (const ws of opened) operations.forEach((query, i) => ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query } })));
  }
  if (m.type === 'report') process.send!({ type: 'report', snapshots, changes, errors, firstError, bytes });
  if (m.type === 'stop') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
