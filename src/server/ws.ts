/**
 * The `ws` adapter for the protocol core (ws-protocol.ts): accepts upgrades on the GraphQL
 * path, checks the Origin and the subprotocol, caps message size, keeps sockets alive with
 * WebSocket pings, and closes every socket on shutdown.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, Connection, SubProtocol, type ProtocolHooks, type ProtocolOptions } from './ws-protocol.ts';
import type { Logger } from '../log.ts';

export interface WsOptions extends ProtocolOptions {
  /** The server whose 'upgrade' events are taken (HTTP or HTTPS: WS or WSS alike). */
  server: Server | HttpsServer;
  path: string;
  /** The hooks of one connection, made for its upgrade request (its headers carry the caller's token). */
  hooks: (req: IncomingMessage) => ProtocolHooks;
  /** Largest message accepted; bigger ones close the socket with 1009. @default 65_536 // 64 KiB */
  maxMessageBytes?: number;
  /** Whether a browser Origin may connect (non-browser clients send none and are allowed). */
  originAllowed: (origin: string, req: IncomingMessage) => boolean;
  /**
   * WebSocket ping interval. A socket that answered no ping within one interval and took no
   * frame either (its peer reads nothing: dead or stuck) is terminated without a close frame
   * (clients see 1006), logged and counted. A socket that is slow but reading stays: the
   * fan-out's own bound decides when it is too slow (4008).
   * @default 30_000 // 30 seconds
   */
  keepAliveMs?: number;
  /** Called when the keepalive terminates a socket. */
  onKeepAliveTimeout?: () => void;
  logger: Logger;
}

export class WsGateway {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Connection>();
  private readonly alive = new WeakSet<WebSocket>();
  /** Frames written by each socket at the last ping. */
  private readonly writtenAtPing = new WeakMap<WebSocket, number>();
  private readonly o: WsOptions;
  private readonly keepAlive: NodeJS.Timeout;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private accepting = true;

  constructor(o: WsOptions) {
    this.o = o;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.maxMessageBytes ?? 65_536,
      perMessageDeflate: false,
      // Without ours, the first protocol offered is echoed so that the handshake completes and
      // the client's library sees the 4406 close and its reason (a 101 without any of the offered
      // protocols fails on the client's side, which reports only 1006).
      handleProtocols: (protocols) => (protocols.has(SubProtocol) ? SubProtocol : (protocols.values().next().value ?? false)),
    });
    this.onUpgrade = (req, socket, head) => this.upgrade(req, socket, head);
    o.server.on('upgrade', this.onUpgrade);
    this.keepAlive = setInterval(() => this.ping(), o.keepAliveMs ?? 30_000);
    this.keepAlive.unref();
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  /** Refuse new sockets and close the open ones with `code` (1001 on shutdown: reconnect elsewhere). */
  async closeAll(code: number = CloseCode.GoingAway, reason = 'Server shutting down'): Promise<void> {
    this.accepting = false;
    clearInterval(this.keepAlive);
    this.o.server.off('upgrade', this.onUpgrade);
    const closed = [...this.sockets.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          this.sockets.get(ws)?.close(code, reason);
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2_000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // Private:

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== this.o.path) return reject(socket, 404, 'Not Found');
    if (!this.accepting) return reject(socket, 503, 'Service Unavailable');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.o.originAllowed(origin, req)) {
      this.o.logger.warn('websocket refused: origin not allowed', { origin: origin.slice(0, 200) });
      return reject(socket, 403, 'Forbidden');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    if (ws.protocol !== SubProtocol) {
      ws.close(CloseCode.SubprotocolNotAcceptable, subprotocolRefusal(ws.protocol));
      return;
    }
    const conn = new Connection(
      {
        send: (data, onSent) => {
          if (ws.readyState !== ws.OPEN) return onSent(new Error('socket closed'));
          ws.send(data, onSent);
        },
        close: (code, reason) => ws.close(code, reason),
      },
      this.o.hooks(req),
      this.o,
    );
    this.sockets.set(ws, conn);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return conn.close(CloseCode.BadRequest, 'Invalid message received: expected text');
      void conn.receive(data.toString());
    });
    ws.on('error', () => {}); // 1009 and resets end in 'close'
    ws.on('close', () => {
      this.sockets.delete(ws);
      conn.closed();
    });
  }

  private ping(): void {
    for (const [ws, conn] of this.sockets) {
      const written = conn.framesWritten;
      const progressed = written !== (this.writtenAtPing.get(ws) ?? 0);
      this.writtenAtPing.set(ws, written);
      if (!this.alive.has(ws) && !progressed) {
        this.o.logger.warn('websocket keepalive: no pong and nothing read for one ping interval, terminated', { intervalMs: this.o.keepAliveMs ?? 30_000, operations: conn.operationCount });
        this.o.onKeepAliveTimeout?.();
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

/**
 * The reason of a 4406 close (at most 123 bytes, as a close reason must be), naming the protocol
 * expected and the one offered; the legacy `graphql-ws` of subscriptions-transport-ws by name.
 */
function subprotocolRefusal(offered: string): string {
  const got = offered === '' ? 'none' : offered === 'graphql-ws' ? 'graphql-ws (subscriptions-transport-ws, not supported)' : JSON.stringify(offered.slice(0, 30));
  return `Subprotocol not acceptable: expected ${SubProtocol}, got ${got}`;
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
