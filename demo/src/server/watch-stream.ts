/**
 * One watch response of the simulated API server: newline-delimited events written with
 * backpressure, initial objects first, selectors applied as the watch cache applies them (an
 * object that starts matching arrives as ADDED, one that stops as DELETED), bookmarks and a
 * final ERROR event when asked. Each event is serialized once for every watch that sends it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterEvent } from '../cluster.ts';
import type { KubeObject, StatusJson } from '../types.ts';
import type { ObjectPredicate } from '../selectors.ts';
import { apiVersionOf, type ResourceInfo } from './wire.ts';

/**
 * One watch response: a queue of serialized lines written with backpressure. Initial objects
 * (synthetic ADDED) go out before anything queued.
 */
export class WatchStream {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #info: ResourceInfo;
  readonly #maxQueue: number;
  #initial: readonly KubeObject[] = [];
  #initialIndex = 0;
  #queue: string[] = [];
  #queueHead = 0;
  #waitingDrain = false;
  #finishing = false;
  #ended = false;
  readonly #cleanups: (() => void)[] = [];

  constructor(req: IncomingMessage, res: ServerResponse, info: ResourceInfo, maxQueue: number, onEnd: () => void) {
    this.#req = req;
    this.#res = res;
    this.#info = info;
    this.#maxQueue = maxQueue;
    this.#cleanups.push(onEnd);
    res.on('close', () => this.#cleanup());
    res.on('error', () => this.#cleanup());
  }

  setInitial(objects: readonly KubeObject[]): void {
    this.#initial = objects;
  }

  /** Runs `fn` once when the stream ends, however it ends. */
  onEnd(fn: () => void): void {
    if (this.#ended) fn();
    else this.#cleanups.push(fn);
  }

  /** Queues a store event, translated for the selector (see the module comment). */
  event(event: ClusterEvent, filter: ObjectPredicate | undefined): void {
    if (filter === undefined) {
      this.#enqueue(eventLine(event));
      return;
    }
    switch (event.type) {
      case 'ADDED':
        if (filter(event.object)) this.#enqueue(line('ADDED', event.object));
        return;
      case 'DELETED':
        if (filter(event.object)) this.#enqueue(line('DELETED', event.object));
        return;
      case 'MODIFIED': {
        const now = filter(event.object);
        const before = event.oldObject !== null && filter(event.oldObject);
        if (now && before) this.#enqueue(line('MODIFIED', event.object));
        else if (now) this.#enqueue(line('ADDED', event.object));
        else if (before && event.oldObject !== null) {
          const gone = { ...event.oldObject, metadata: { ...event.oldObject.metadata, resourceVersion: String(event.revision) } };
          this.#enqueue(line('DELETED', gone));
        }
        return;
      }
    }
  }

  bookmark(resourceVersion: string, initialEventsEnd = false): void {
    const metadata = initialEventsEnd
      ? { resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } }
      : { resourceVersion };
    this.#enqueue(line('BOOKMARK', { kind: this.#info.kind, apiVersion: apiVersionOf(this.#info), metadata } as unknown as KubeObject));
  }

  /** Sends an ERROR event after what is queued, then ends the stream. */
  error(status: StatusJson): void {
    if (this.#ended) return;
    this.#queue.push(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    this.finish();
  }

  /** Ends the stream cleanly once what is queued is written. */
  finish(): void {
    this.#finishing = true;
    this.pump();
  }

  /** Destroys the connection (the client sees a reset). */
  destroy(): void {
    this.#req.socket.destroy();
    this.#res.destroy();
    this.#cleanup();
  }

  /** Writes until the socket pushes back or nothing is left. */
  pump(): void {
    if (this.#ended || this.#waitingDrain) return;
    for (;;) {
      const chunk = this.#nextChunk();
      if (chunk === undefined) break;
      if (!this.#res.write(chunk)) {
        this.#waitingDrain = true;
        this.#res.once('drain', () => {
          this.#waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    if (this.#finishing) {
      this.#res.end();
      this.#cleanup();
    }
  }

  #enqueue(text: string): void {
    if (this.#ended || this.#finishing) return;
    if (this.#queue.length - this.#queueHead >= this.#maxQueue) {
      // Too far behind: end the stream; the client re-watches from its last version.
      this.#queue = [];
      this.#queueHead = 0;
      this.#initial = [];
      this.#finishing = true;
      if (!this.#waitingDrain) this.pump();
      return;
    }
    this.#queue.push(text);
    this.pump();
  }

  /** Up to ~64 KiB of lines: initial objects first, then the queue. */
  #nextChunk(): string | undefined {
    let chunk = '';
    while (chunk.length < 65_536 && this.#initialIndex < this.#initial.length) {
      chunk += line('ADDED', this.#initial[this.#initialIndex++] as KubeObject);
    }
    if (this.#initialIndex >= this.#initial.length && this.#initial.length > 0) {
      this.#initial = [];
      this.#initialIndex = 0;
    }
    while (chunk.length < 65_536 && this.#queueHead < this.#queue.length) {
      chunk += this.#queue[this.#queueHead++] as string;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return chunk === '' ? undefined : chunk;
  }

  #cleanup(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const fn of this.#cleanups.splice(0)) fn();
  }
}

/** Serialized lines of unfiltered events, shared by every watcher. */
const eventLines = new WeakMap<ClusterEvent, string>();

function eventLine(event: ClusterEvent): string {
  let text = eventLines.get(event);
  if (text === undefined) {
    text = line(event.type, event.object);
    eventLines.set(event, text);
  }
  return text;
}

function line(type: string, object: KubeObject): string {
  return `{"type":"${type}","object":${JSON.stringify(object)}}\n`;
}
