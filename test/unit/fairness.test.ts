/**
 * No caller can starve the others, on real sockets and the embedded demo cluster: a storm of
 * subscriptions with large snapshots does not hold up HTTP queries; a subscriber whose socket
 * stops draining is closed with 4008 and counted; a socket that neither answers pings nor
 * reads is terminated by the keepalive, logged and counted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { CloseCode } from '../../src/server/ws-protocol.ts';
import { waitFor } from '../harness/wait.ts';
import { openAcknowledged } from '../harness/subscriber.ts';

const Endpoints = 'type name cursor at endpoints { address ready serving terminating nodeName zone hostname ports { name port protocol } targetRef { kind namespace name uid } pod { metadata { name namespace uid labels { key value } } } }';

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

async function start(args: string[], logs: string[] = []): Promise<Gateway> {
  const cfg = parseConfig(['--demo', '--port', '0', '--no-explorer', ...args]) as Config;
  const gw = await startGateway(cfg, { logger: createLogger({ level: 'warn', format: 'json', write: (l) => logs.push(l) }) });
  await gw.synced();
  return gw;
}

describe('a subscription storm does not hold up HTTP queries', () => {
  let gw: Gateway;
  before(async () => {
    gw = await start(['--demo-churn-per-second', '20']);
  });
  after(async () => {
    await gw?.stop();
  });

  it('10 sockets × 100 distinct subscriptions with full snapshots: HTTP latency stays bounded and every snapshot arrives', async () => {
    const services = gw.cache.services.size;
    const idle: number[] = [];
    const query = async () => {
      const t = performance.now();
      const res = await fetch(gw.url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ cluster { ready } }"}' });
      assert.equal(res.status, 200);
      await res.text();
      return performance.now() - t;
    };
    for (let i = 0; i < 20; i++) idle.push(await query());

    const sockets = await Promise.all(Array.from({ length: 10 }, () => openAcknowledged(gw.url)));
    let snapshots = 0;
    for (const ws of sockets) {
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'next' && Object.values(m.payload.data ?? {}).some((v: any) => v?.type === 'SNAPSHOT')) snapshots++;
      });
      // 100 distinct operations (an alias each): 100 topics, each rendering its own snapshots.
      for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: `subscription { s${i}: endpointChanges { ${Endpoints} } }` } }));
    }
    const during: number[] = [];
    const want = 10 * 100 * services;
    while (snapshots < want) {
      during.push(await query());
      assert.ok(during.length < 5_000, `snapshots still arriving after ${during.length} queries: ${snapshots} of ${want}`);
    }
    for (const ws of sockets) ws.close();
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
    const worst = Math.max(...during);
    // Measured on a 2-core machine with bench/storm.ts (bench/README.md): idle p99 0.1-0.2 ms,
    // p99 during the storm 13-16 ms, worst 80-110 ms (before the send loop was paced: 240-310 ms).
    // The bound leaves an order of magnitude of headroom for a loaded CI machine.
    assert.ok(worst < 1_000, `worst HTTP latency during the storm ${worst.toFixed(0)} ms (idle p99 ${p(idle, 0.99).toFixed(1)} ms, ${during.length} queries)`);
  });
});

describe('a subscriber whose socket stops draining', () => {
  let gw: Gateway;
  const logs: string[] = [];
  before(async () => {
    // The slow timeout well inside the keepalive interval, as with the defaults (20 s and 30 s).
    gw = await start(['--demo-churn-per-second', '200', '--ws-slow-timeout-ms', '1000', '--ws-keepalive-ms', '20000'], logs);
  });
  after(async () => {
    await gw?.stop();
  });

  it('is closed with 4008, told why, logged and counted', async () => {
    const before = await metric(gw.url, 'netgraph_slow_subscribers_dropped_total');
    const slow = await openAcknowledged(gw.url);
    const closed = new Promise<{ code: number; reason: string }>((r) => slow.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    let frames = 0;
    slow.on('message', () => frames++);
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { endpointChanges { ${Endpoints} } }` } }));
    await waitFor('the snapshot to arrive', 10_000, () => frames > 0);
    (slow as any)._socket.pause();
    await waitFor('the gateway to drop the stalled subscriber', 60_000, () => gw.fanout.subscriberCount === 0, 50);
    (slow as any)._socket.resume();
    const c = await closed;
    assert.equal(c.code, CloseCode.SubscriberTooSlow);
    assert.match(c.reason, /^Subscriber too slow: /);
    assert.equal(await metric(gw.url, 'netgraph_slow_subscribers_dropped_total'), before + 1);
    assert.ok(logs.some((l) => l.includes('subscriber too slow')), 'one warning line');
  });

});

describe('the keepalive', () => {
  let gw: Gateway;
  const logs: string[] = [];
  before(async () => {
    gw = await start(['--demo-churn-per-second', '0', '--ws-keepalive-ms', '400'], logs);
  });
  after(async () => {
    await gw?.stop();
  });

  it('terminates a socket that neither answers pings nor reads, logged and counted', async () => {
    const before = await metric(gw.url, 'netgraph_ws_keepalive_timeouts_total');
    const ws = await openAcknowledged(gw.url);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    (ws as any)._socket.pause(); // reads nothing, so answers no ping
    await waitFor('the keepalive to count it', 10_000, async () => (await metric(gw.url, 'netgraph_ws_keepalive_timeouts_total')) === before + 1, 100);
    (ws as any)._socket.resume();
    assert.equal(await closed, 1006, 'terminated without a close frame');
    assert.ok(logs.some((l) => l.includes('websocket keepalive')), 'one warning line');
  });

  it('keeps a socket that answers pings open across many intervals', async () => {
    const ws = await openAcknowledged(gw.url);
    let closed = false;
    ws.on('close', () => (closed = true));
    const t = Date.now();
    await waitFor('four keepalive intervals', 5_000, () => Date.now() - t > 1_600, 100);
    assert.equal(closed, false);
    ws.close();
  });
});
