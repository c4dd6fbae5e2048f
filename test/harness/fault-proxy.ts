/**
 * A loopback TCP proxy that sits between the gateway and the API server and misbehaves on
 * demand: reset every connection, refuse new ones, stall (hold connections open and forward
 * nothing), or slow every chunk down. TLS passes through untouched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode =
  | { readonly mode: 'pass' }
  /** Accept and immediately reset new connections (the server looks down). */
  | { readonly mode: 'refuse' }
  /** Keep connections open but forward nothing in either direction. */
  | { readonly mode: 'stall' }
  /** Forward, delaying every chunk by `delayMs`. */
  | { readonly mode: 'slow'; readonly delayMs: number };

export class FaultProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private fault: FaultMode = { mode: 'pass' };
  /** Connections accepted so far (each reflector request is one when not kept alive). */
  accepted = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((client) => proxy.onConnection(client, target));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    proxy = new FaultProxy(server, (server.address() as import('node:net').AddressInfo).port);
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  set(fault: FaultMode): void {
    this.fault = fault;
    if (fault.mode !== 'stall') {
      for (const p of this.pairs) {
        p.client.resume();
        p.upstream.resume();
      }
    }
  }

  /** Reset (RST) every open connection; new ones follow the current mode. */
  resetAll(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise((res) => this.server.close(res));
  }

  // Private:

  private onConnection(client: Socket, target: { host: string; port: number }): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.fault.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forget = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', forget);
    upstream.on('close', forget);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      const f = this.fault;
      if (f.mode === 'stall') {
        // Hold it: the peer sees silence; TCP back-pressure does the rest until the mode changes.
        from.pause();
        from.unshift(chunk);
        return;
      }
      if (f.mode === 'slow') {
        from.pause();
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
          from.resume();
        }, f.delayMs);
        return;
      }
      if (!to.destroyed) to.write(chunk);
    });
    from.on('end', () => to.end());
  }
}
