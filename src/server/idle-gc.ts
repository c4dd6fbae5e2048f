/**
 * Gives memory back when the process goes idle.
 *
 * V8 grows the young generation (two semi-spaces) while a process allocates fast (start-up, a
 * cold list, a burst of queries), up to 64 MiB here, and keeps it committed afterwards: an idle
 * gateway on a 2,000-pod cluster held 64 MiB of it with 1 to 18 MiB in use (bench/rss.ts).
 * Capping it (`--max-semi-space-size`) costs CPU under load, since every scavenge then comes
 * sooner. Instead, when the event loop has been nearly idle for a whole interval and the young
 * generation is larger than `minYoungBytes`, one major collection runs (incremental, so no long
 * pause); V8's memory reducer, which only acts after a major collection, then shrinks the young
 * generation to its minimum within seconds. Under load it grows again as V8 sees fit, so the
 * sizing under load is V8's own.
 *
 * The collection is V8's `gc` function taken from a fresh context (`--expose-gc` set for that
 * moment only), so no `gc` global appears in the gateway's own context.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleCollectorOptions {
  /** How often the event loop's utilization is looked at. @default 10_000 // 10 seconds */
  intervalMs?: number;
  /** At or below this share of an interval spent busy, the process counts as idle. @default 0.02 // 2 % */
  idleUtilization?: number;
  /** Collect only when the young generation has more than this committed. @default 8_388_608 // 8 MiB */
  minYoungBytes?: number;
  /** What is measured and done; tests pass their own. @default the event loop, V8's heap spaces and a major collection */
  probe?: IdleProbe;
}

export interface IdleProbe {
  /** Share of the time since the previous call the event loop was busy, 0 to 1. */
  utilization(): number;
  /** Bytes committed to the young generation. */
  youngBytes(): number;
  /** Start one major collection. */
  collect(): void;
}

export class IdleCollector {
  private readonly intervalMs: number;
  private readonly idleUtilization: number;
  private readonly minYoungBytes: number;
  private readonly probe: IdleProbe;
  private timer: NodeJS.Timeout | null = null;
  private collections = 0;

  constructor(opts: IdleCollectorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.idleUtilization = opts.idleUtilization ?? 0.02;
    this.minYoungBytes = opts.minYoungBytes ?? 8 * 1024 * 1024;
    this.probe = opts.probe ?? v8Probe();
  }

  /** Collections started so far. */
  get collected(): number {
    return this.collections;
  }

  start(): void {
    if (this.timer) return;
    this.probe.utilization();
    // unref: the check never keeps the process alive on its own.
    this.timer = setInterval(() => this.check(), this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // Private:

  private check(): void {
    if (this.probe.utilization() > this.idleUtilization) return;
    if (this.probe.youngBytes() <= this.minYoungBytes) return;
    this.collections++;
    this.probe.collect();
  }
}

// Private:

function v8Probe(): IdleProbe {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let gc: ((opts: object) => void) | null = null;
  return {
    utilization() {
      const now = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return u;
    },
    youngBytes() {
      let bytes = 0;
      for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') bytes += s.space_size;
      return bytes;
    },
    collect() {
      if (gc === null) {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as (opts: object) => void;
        setFlagsFromString('--no-expose-gc');
      }
      gc({ type: 'major', execution: 'async' });
    },
  };
}
