/**
 * Helpers shared by the benchmarks: re-running under the V8 flags a benchmark needs, settling
 * the heap, statistics and plain-text tables. Benchmarks are not tests: nothing here asserts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/**
 * Re-runs the current script under `flags` when `needed()` is false (e.g. `global.gc` missing),
 * forwarding arguments and exit code; returns normally when no re-run is needed. The child gets
 * NETGRAPH_BENCH_CHILD=1 so that it never re-runs itself again.
 */
export function ensureFlags(script: string, flags: readonly string[], needed: () => boolean): void {
  if (needed() || process.env.NETGRAPH_BENCH_CHILD === '1') return;
  const r = spawnSync(process.execPath, [...flags, ...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NETGRAPH_BENCH_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
}

/** True when `global.gc` is exposed and the old space can hold `minHeapMiB`. */
export function hasGcAndHeap(minHeapMiB: number): boolean {
  return typeof globalThis.gc === 'function' && getHeapStatistics().heap_size_limit >= minHeapMiB * 1_048_576;
}

/** Full collections until the heap stops shrinking (at most 5); returns heapUsed in bytes. */
export async function settledHeap(): Promise<number> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('settledHeap: expected node --expose-gc, got no global.gc');
  let last = Infinity;
  for (let i = 0; i < 5; i++) {
    // Let pending callbacks (closed sockets, finished promises) drop their references first.
    await new Promise((r) => setImmediate(r));
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 64 * 1024) return used;
    last = used;
  }
  return last;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The p-th percentile (0..100) of sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A plain-text table, columns padded; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const right = header.map((_, i) => rows.some((r) => typeof r[i] === 'number'));
  const line = (r: readonly string[]) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Thousands separators for big numbers, two significant decimals for small ones. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(a / b >= 10 ? 1 : 2)}x`;
}

export function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** One line naming the machine, for the figures' context. */
export function machineNote(): string {
  const c = cpus();
  return `node ${process.version}, ${c.length} cpu (${c[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString().slice(0, 16)}Z`;
}

/** The next IPC message of `type` from a forked client, after sending it `msg` if given. */
export function childMessage<T>(child: ChildProcess, type: string, msg?: object): Promise<T> {
  return new Promise<T>((resolve) => {
    const on = (m: any) => {
      if (m?.type === type) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    if (msg) child.send(msg);
  });
}

/** User + system CPU of another process, from /proc (Linux), in ms. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
  // In clock ticks of USER_HZ: 100 on Linux for every architecture Node runs on.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The 1, 5 and 15 minute load averages (Linux), for the figures' context. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
