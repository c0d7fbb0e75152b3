import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { PoolRequest, PoolResponse, PoolTask } from './pool-messages.ts';
import type { InstanceRendering, RenderSettings } from './render-instance.ts';

// The worker's file has this module's extension (.ts when run from source, .js when built).
const workerUrl = new URL(`./render-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);
const errorCodes: readonly string[] = Object.values(ErrorCode);

interface Pending {
  request: PoolRequest;
  resolve: (value: InstanceRendering | number) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * A small pool of worker threads (one per core by default) that render instances: CPU-heavy decoding
 * and pixel work never runs on the event loop that serves DICOM. Threads start on demand and end
 * after a quiet minute, so an idle gateway holds no decoder memory.
 */
export class RenderPool {
  readonly size: number;
  readonly #idleMs: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: { threads?: number; idleMs?: number } = {}) {
    this.size = options.threads !== undefined && options.threads > 0 ? options.threads : availableParallelism();
    this.#idleMs = options.idleMs ?? 60_000;
  }

  renderInstance(file: string, outBase: string, settings: RenderSettings): Promise<InstanceRendering> {
    return this.#run({ op: 'instance', file, outBase, settings }) as Promise<InstanceRendering>;
  }

  renderFrames(file: string, outDir: string, range: { from: number; to: number }, settings: Pick<RenderSettings, 'jpeg' | 'windowPresets'>): Promise<number> {
    return this.#run({ op: 'frames', file, outDir, range, settings }) as Promise<number>;
  }

  /** Ends every thread; tasks not yet finished are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new GatewayError(ErrorCode.Unavailable, 'the render pool is closed'));
    await Promise.all([...this.#slots].map((slot) => this.#end(slot)));
  }

  #run(task: PoolTask): Promise<InstanceRendering | number> {
    if (this.#closed) return Promise.reject(new GatewayError(ErrorCode.Unavailable, 'the render pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, task }, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = [...this.#slots].find((s) => s.busy === undefined);
      if (slot === undefined && this.#slots.size < this.size) slot = this.#start();
      if (slot === undefined) return;
      const pending = this.#queue.shift() as Pending;
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.busy = pending;
      slot.worker.ref();
      slot.worker.postMessage(pending.request);
    }
  }

  #start(): Slot {
    // A render thread's own objects are small (pixels live in ArrayBuffers outside the heap): small
    // heap limits make V8 collect early instead of growing each thread by tens of MB (measured:
    // two threads added 175 MB to the process without them, 107 MB with).
    const worker = new Worker(workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 } });
    const slot: Slot = { worker, busy: undefined, idleTimer: undefined };
    this.#slots.add(slot);
    worker.on('message', (response: PoolResponse) => {
      const pending = slot.busy;
      slot.busy = undefined;
      if (pending !== undefined && pending.request.id === response.id) {
        if (response.ok) pending.resolve(response.result);
        else pending.reject(toError(response.error));
      }
      this.#idle(slot);
      this.#dispatch();
    });
    worker.on('error', (err) => {
      slot.busy?.reject(new GatewayError(ErrorCode.Internal, `a render thread failed: ${err.message}`, { cause: err }));
      slot.busy = undefined;
    });
    worker.on('exit', () => {
      slot.busy?.reject(new GatewayError(ErrorCode.Internal, 'a render thread ended unexpectedly'));
      slot.busy = undefined;
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      this.#slots.delete(slot);
      if (!this.#closed) this.#dispatch();
    });
    return slot;
  }

  #idle(slot: Slot): void {
    // An idle thread keeps no one waiting: the process may exit, and the thread ends after a while.
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => void this.#end(slot), this.#idleMs);
    slot.idleTimer.unref();
  }

  async #end(slot: Slot): Promise<void> {
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    await slot.worker.terminate();
  }
}

function toError(e: { name: string; message: string; code: string | undefined }): Error {
  if (e.name === 'GatewayError' && e.code !== undefined && errorCodes.includes(e.code)) return new GatewayError(e.code as ErrorCode, e.message);
  const err = new Error(e.message) as Error & { code?: string };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}
