/**
 * The graphql-transport-ws server core and its `ws` adapter, on a real server on port 0,
 * asserting exact wire messages and close codes, plus compatibility with graphql-ws's own client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { WsGateway } from '../../src/server/ws.ts';
import { CloseCode, SubProtocol, type OperationSink } from '../../src/server/ws-protocol.ts';
import { createLogger } from '../../src/log.ts';

const logger = createLogger({ level: 'error', format: 'text' });

interface Opened {
  ws: WebSocket;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
  next(): Promise<any>;
}

describe('graphql-transport-ws server', () => {
  let http: Server;
  let gw: WsGateway;
  let url: string;
  const sinks: OperationSink[] = [];
  let stopped: string[] = [];

  before(async () => {
    http = createServer((_, res) => res.writeHead(404).end());
    gw = new WsGateway({
      server: http,
      path: '/graphql',
      maxMessageBytes: 1024,
      maxOperations: 2,
      initTimeoutMs: 300,
      originAllowed: (origin) => origin === 'http://good.example',
      logger,
      hooks: () => ({
        onConnect: (params) => params?.token !== 'bad',
        onSubscribe: (sink, payload) => {
          sinks.push(sink);
          if (payload.query === 'fail') return sink.error([{ message: 'nope', extensions: { code: 'BAD_USER_INPUT' } }]);
          if (payload.query === 'once') {
            sink.nextSerialized('{"data":{"n":1}}');
            return sink.complete();
          }
          sink.nextSerialized(JSON.stringify({ data: { hello: payload.query } }));
          return () => stopped.push(sink.id);
        },
      }),
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  });

  after(async () => {
    await gw.closeAll();
    await new Promise((r) => http.close(r));
  });

  const open = async (opts: { protocol?: string | null; origin?: string } = {}): Promise<Opened> => {
    const ws = new WebSocket(url, opts.protocol === null ? [] : [opts.protocol ?? SubProtocol], opts.origin ? { origin: opts.origin } : {});
    const messages: any[] = [];
    const waiters: ((m: any) => void)[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      const w = waiters.shift();
      if (w) w(m);
      else messages.push(m);
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('error', () => {});
    await new Promise<void>((resolve) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
      ws.once('unexpected-response', () => resolve());
    });
    return {
      ws,
      messages,
      closed,
      next: () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r))),
    };
  };
  const init = async (payload?: unknown) => {
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) }));
    assert.deepEqual(await c.next(), { type: 'connection_ack' });
    return c;
  };

  it('acknowledges connection_init, answers ping with pong, streams next and stops on complete', async () => {
    stopped = [];
    const c = await init();
    c.ws.send('{"type":"ping","payload":{"t":1}}');
    assert.deepEqual(await c.next(), { type: 'pong', payload: { t: 1 } });
    c.ws.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: 'q1' } }));
    assert.deepEqual(await c.next(), { id: 'a', type: 'next', payload: { data: { hello: 'q1' } } });
    c.ws.send(JSON.stringify({ id: 'a', type: 'complete' }));
    await waitUntil(() => stopped.includes('a'));
    c.ws.close();
  });

  it('sends error and complete messages for operations that end by themselves', async () => {
    const c = await init();
    c.ws.send(JSON.stringify({ id: 'e', type: 'subscribe', payload: { query: 'fail' } }));
    assert.deepEqual(await c.next(), { id: 'e', type: 'error', payload: [{ message: 'nope', extensions: { code: 'BAD_USER_INPUT' } }] });
    c.ws.send(JSON.stringify({ id: 'o', type: 'subscribe', payload: { query: 'once' } }));
    assert.deepEqual(await c.next(), { id: 'o', type: 'next', payload: { data: { n: 1 } } });
    assert.deepEqual(await c.next(), { id: 'o', type: 'complete' });
    c.ws.close();
  });

  const closeCases: { name: string; run: (c: Opened) => void; code: number }[] = [
    { name: 'subscribe before connection_init closes 4401', run: (c) => c.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'q' } })), code: CloseCode.Unauthorized },
    { name: 'a message that is not JSON closes 4400', run: (c) => c.ws.send('{nope'), code: CloseCode.BadRequest },
    { name: 'an unknown message type closes 4400', run: (c) => c.ws.send('{"type":"subscribe_all"}'), code: CloseCode.BadRequest },
    { name: 'a message over 1024 bytes closes 1009', run: (c) => c.ws.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(2000) } })), code: CloseCode.MessageTooBig },
    { name: 'no connection_init within the timeout closes 4408', run: () => {}, code: CloseCode.ConnectionInitialisationTimeout },
  ];
  for (const tc of closeCases) {
    it(tc.name, async () => {
      const c = await open();
      tc.run(c);
      assert.equal((await c.closed).code, tc.code);
    });
  }

  it('subscribe without a string id closes 4400', async () => {
    const c = await init();
    c.ws.send(JSON.stringify({ type: 'subscribe', payload: { query: 'q' } }));
    assert.equal((await c.closed).code, CloseCode.BadRequest);
  });

  it('a second connection_init closes 4429', async () => {
    const c = await init();
    c.ws.send('{"type":"connection_init"}');
    assert.equal((await c.closed).code, CloseCode.TooManyInitialisationRequests);
  });

  it('a refused connection_init payload closes 4403', async () => {
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'connection_init', payload: { token: 'bad' } }));
    assert.equal((await c.closed).code, CloseCode.Forbidden);
  });

  it('a duplicate operation id closes 4409', async () => {
    const c = await init();
    c.ws.send(JSON.stringify({ id: 'dup', type: 'subscribe', payload: { query: 'q' } }));
    await c.next();
    c.ws.send(JSON.stringify({ id: 'dup', type: 'subscribe', payload: { query: 'q' } }));
    assert.equal((await c.closed).code, CloseCode.SubscriberAlreadyExists);
  });

  it('one operation over the per-socket maximum gets a coded error; the socket and its operations stay', async () => {
    const c = await init();
    for (const id of ['1', '2']) {
      c.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: id } }));
      assert.equal((await c.next()).id, id);
    }
    c.ws.send(JSON.stringify({ id: '3', type: 'subscribe', payload: { query: '3' } }));
    const m = await c.next();
    assert.equal(m.type, 'error');
    assert.equal(m.id, '3');
    assert.equal(m.payload[0].extensions.code, 'TOO_MANY_OPERATIONS');
    c.ws.send('{"type":"ping"}');
    assert.deepEqual(await c.next(), { type: 'pong' });
    c.ws.close();
  });

  it('a socket without the graphql-transport-ws subprotocol closes 4406', async () => {
    const c = await open({ protocol: null });
    assert.equal((await c.closed).code, CloseCode.SubprotocolNotAcceptable);
  });

  it('a browser Origin not allowed is refused with HTTP 403 before the upgrade; an allowed one connects', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, [SubProtocol], { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(status, 403);
    const ok = await open({ origin: 'http://good.example' });
    ok.ws.send('{"type":"connection_init"}');
    assert.deepEqual(await ok.next(), { type: 'connection_ack' });
    ok.ws.close();
  });

  it('speaks to graphql-ws’s own client', async () => {
    const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const got = await new Promise<unknown>((resolve, reject) => {
        const dispose = client.subscribe({ query: 'from-client' }, {
          next: (v) => {
            resolve(v);
            dispose();
          },
          error: reject,
          complete: () => {},
        });
      });
      assert.deepEqual(got, { data: { hello: 'from-client' } });
    } finally {
      await client.dispose();
    }
  });

  it('closeAll closes every socket with 1001', async () => {
    const http2 = createServer();
    const gw2 = new WsGateway({ server: http2, path: '/graphql', originAllowed: () => true, logger, hooks: () => ({ onSubscribe: () => {} }) });
    await new Promise<void>((r) => http2.listen(0, '127.0.0.1', r));
    const ws = new WebSocket(`ws://127.0.0.1:${(http2.address() as AddressInfo).port}/graphql`, [SubProtocol]);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.once('open', r));
    await gw2.closeAll();
    assert.equal(await closed, CloseCode.GoingAway);
    await new Promise((r) => http2.close(r));
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
