/**
 * A subscriber whose socket stops reading, over real WebSockets, on the embedded demo cluster
 * with heavy churn: the gateway keeps at most its bound queued for it and then closes it with
 * 4008, while a subscriber that reads keeps receiving change sets promptly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { CloseCode } from '../../src/server/ws-protocol.ts';
import { waitFor } from '../harness/wait.ts';
import { openAcknowledged } from '../harness/subscriber.ts';

const Query = `subscription { endpointChanges { type name cursor at endpoints { address ready serving terminating nodeName zone hostname ports { name port protocol } targetRef { kind namespace name uid } pod { metadata { name namespace uid labels { key value } } } } } }`;

describe('a slow subscriber on real sockets', () => {
  let gw: Gateway;
  before(async () => {
    const cfg = parseConfig(['--demo', '--port', '0', '--no-explorer', '--demo-churn-per-second', '400', '--ws-max-queue', '5']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
    await gw.synced();
  });
  after(async () => {
    await gw?.stop();
  });

  it('is closed with 4008 once its bound is exceeded, and a reading subscriber is not held up', async () => {
    const slow = await openAcknowledged(gw.url);
    const fast = await openAcknowledged(gw.url);
    const closed = new Promise<number>((r) => slow.on('close', (code) => r(code)));
    const delays: number[] = [];
    let fastFrames = 0;
    fast.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type !== 'next') return;
      fastFrames++;
      const at = Date.parse(m.payload.data.endpointChanges.at);
      if (m.payload.data.endpointChanges.type === 'CHANGE') delays.push(Date.now() - at);
    });
    for (const ws of [slow, fast]) {
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: Query } }));
    }
    await waitFor('the slow socket to have been answered', 10_000, () => fastFrames > 0);
    // Stop reading: the kernel buffers fill, then the gateway's per-socket high-water mark.
    (slow as any)._socket.pause();
    const rssBefore = process.memoryUsage().rss;
    assert.equal(gw.fanout.subscriberCount, 2);
    // The gateway drops it on its side (its close frame waits behind the unread data).
    await waitFor('the gateway to drop the slow subscriber', 60_000, () => gw.fanout.subscriberCount === 1, 50);
    const grewMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    (slow as any)._socket.resume();
    assert.equal(await closed, CloseCode.SubscriberTooSlow);
    assert.ok(grewMiB < 200, `memory grew ${grewMiB.toFixed(1)} MiB while the subscriber lagged`);
    const before = fastFrames;
    await waitFor('the reading subscriber to keep receiving', 10_000, () => fastFrames > before + 10);
    delays.sort((a, b) => a - b);
    const p99 = delays[Math.floor(delays.length * 0.99)] ?? 0;
    assert.ok(delays.length > 50, `changes delivered: ${delays.length}`);
    assert.ok(p99 < 1_000, `p99 delay for the reading subscriber ${p99} ms`);
    fast.close();
  });
});
