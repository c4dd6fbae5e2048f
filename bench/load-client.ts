/**
 * A small closed-loop HTTP/1.1 load generator for bench/query-api.ts. It runs as a child process
 * (`fork`), so that it never shares an event loop with the servers it measures, and takes jobs
 * over IPC: N keep-alive connections, each sending its next request as soon as the previous
 * response has fully arrived. Requests are pre-encoded bytes; responses are parsed just enough
 * to find their end (Content-Length or chunked) and status.
 *
 * Latency is measured per request, from write to the last byte, for requests started inside the
 * measured window (after the warm-up). The window closes after `durationMs` or `maxRequests`
 * measured responses, whichever comes first.
 */
import { connect, type Socket } from 'node:net';

export interface LoadJob {
  readonly host: string;
  readonly port: number;
  /** Complete HTTP/1.1 requests (request line, headers, body). */
  readonly requests: readonly string[];
  /** Indices into `requests`, cycled; connection i starts at offset i × stride so they differ. */
  readonly sequence: readonly number[];
  readonly connections: number;
  /** @default 500 // ms */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Stop the window early after this many measured responses. */
  readonly maxRequests: number;
}

export interface LoadResult {
  /** Responses completed inside the measured window. */
  readonly requests: number;
  /** Non-2xx responses and connection errors inside the window. */
  readonly errors: number;
  readonly firstError: string | null;
  /** Length of the measured window, ms. */
  readonly elapsedMs: number;
  /** Latency of every measured response, µs, unsorted. */
  readonly latenciesUs: number[];
  readonly responseBytes: number;
  /** Every response received, warm-up and stragglers after the window included (for CPU per answer). */
  readonly completed: number;
}

if (process.send) {
  process.on('message', (msg: { type: 'run'; job: LoadJob } | { type: 'exit' }) => {
    if (msg.type === 'exit') process.exit(0);
    void run(msg.job).then((r) => process.send!({ type: 'result', result: r }));
  });
  process.send({ type: 'ready' });
}

// Private:

async function run(job: LoadJob): Promise<LoadResult> {
  const requests = job.requests.map((r) => Buffer.from(r));
  const latencies: number[] = [];
  let measured = 0;
  let errors = 0;
  let firstError: string | null = null;
  let bytes = 0;
  let completed = 0;
  const t0 = performance.now();
  const windowStart = t0 + job.warmupMs;
  let windowEnd = windowStart + job.durationMs;
  let stopping = false;
  const stride = Math.max(1, Math.floor(job.sequence.length / job.connections));

  const one = (conn: number) =>
    new Promise<void>((resolve) => {
      let seq = (conn * stride) % job.sequence.length;
      let socket: Socket;
      let buf: Buffer = Buffer.alloc(0);
      let started = 0;
      const open = () => {
        socket = connect({ host: job.host, port: job.port, noDelay: true });
        socket.on('connect', send);
        socket.on('data', onData);
        socket.on('error', (err) => fail(err.message));
        socket.on('close', () => {
          if (!stopping && started !== 0) fail('connection closed mid-response');
        });
      };
      const send = () => {
        const now = performance.now();
        if (now >= windowEnd || measured >= job.maxRequests) {
          stopping = true;
          windowEnd = Math.min(windowEnd, now);
          socket.end();
          resolve();
          return;
        }
        started = now;
        socket.write(requests[job.sequence[seq]!]!);
        seq = (seq + 1) % job.sequence.length;
      };
      const done = (status: number, size: number, close: boolean) => {
        const end = performance.now();
        completed++;
        if (started >= windowStart && end <= windowEnd) {
          measured++;
          bytes += size;
          latencies.push(Math.round((end - started) * 1000));
          if (status < 200 || status >= 300) {
            errors++;
            firstError ??= `HTTP ${status}`;
          }
        }
        started = 0;
        if (close) {
          socket.destroy();
          open();
        } else send();
      };
      const fail = (message: string) => {
        if (performance.now() >= windowStart) {
          errors++;
          firstError ??= message;
        }
        socket.destroy();
        started = 0;
        if (performance.now() >= windowEnd || stopping) resolve();
        else setTimeout(open, 10);
      };
      const onData = (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const r = parseResponse(buf);
        if (r === null) return;
        buf = buf.subarray(r.length);
        done(r.status, r.length, r.close);
      };
      // A server that stops answering must not hang the run: give up 30 s after the window.
      const deadline = setTimeout(() => {
        errors++;
        firstError ??= 'no response within 30 s after the window';
        socket.destroy();
        resolve();
      }, job.warmupMs + job.durationMs + 30_000);
      deadline.unref();
      open();
    });

  await Promise.all(Array.from({ length: job.connections }, (_, i) => one(i)));
  return { requests: measured, errors, firstError, elapsedMs: windowEnd - windowStart, latenciesUs: latencies, responseBytes: bytes, completed };
}

/** One complete response at the start of `buf`, or null when more bytes are needed. */
function parseResponse(buf: Buffer): { status: number; length: number; close: boolean } | null {
  const headerEnd = buf.indexOf('\r\n\r\n');
  if (headerEnd < 0) return null;
  const head = buf.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const close = /\r\nconnection:\s*close/.test(lower);
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  const bodyStart = headerEnd + 4;
  if (cl) {
    const length = bodyStart + Number(cl[1]);
    return buf.length >= length ? { status, length, close } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        const end = buf.indexOf('\r\n\r\n', lineEnd);
        return end < 0 ? null : { status, length: end + 4, close };
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return null;
    }
  }
  return { status, length: bodyStart, close }; // no body (e.g. 204)
}
