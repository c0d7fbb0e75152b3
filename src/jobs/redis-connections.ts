import { Redis } from 'ioredis';
import { within } from './redis-names.ts';

/**
 * The ioredis connections of one part (gateway queue or worker host), owned by us rather than by
 * BullMQ so that a stop while Redis is away can drop them: BullMQ's own close waits for a Redis that
 * does not answer, and its reconnect timers would keep the process alive.
 */
export class RedisConnections {
  readonly #url: string;
  readonly #onError: (err: Error) => void;
  readonly #clients: Redis[] = [];

  constructor(url: string, onError: (err: Error) => void) {
    this.#url = url;
    this.#onError = onError;
  }

  /** For workers and blocking reads: commands wait while Redis is away. */
  forWorker(): Redis {
    return this.#add(new Redis(this.#url, { maxRetriesPerRequest: null, lazyConnect: false }));
  }

  /** For producers: while Redis is away, commands fail at once (the caller backs off). */
  forProducer(): Redis {
    return this.#add(new Redis(this.#url, { maxRetriesPerRequest: 1, enableOfflineQueue: false }));
  }

  /** For result messages of workers: they wait in the offline queue until Redis is back. */
  forResults(): Redis {
    return this.#add(new Redis(this.#url, { maxRetriesPerRequest: null }));
  }

  #add(client: Redis): Redis {
    client.on('error', this.#onError);
    this.#clients.push(client);
    return client;
  }

  /** Whether every connection is up (at stop: whether a polite close can work). */
  get reachable(): boolean {
    return this.#clients.every((c) => c.status === 'ready');
  }

  /** Quits politely where Redis answers, drops the connection where it does not. */
  async closeAll(): Promise<void> {
    await Promise.all(
      this.#clients.map(async (client) => {
        if (client.status === 'ready' && (await within(client.quit(), 1000))) return;
        client.disconnect();
      }),
    );
    this.#clients.length = 0;
  }
}

/**
 * Drops the dedicated blocking connection BullMQ opens for a worker (a duplicate of ours that we do
 * not own). Needed only when Redis is away at stop: otherwise `close()` ends it.
 */
export async function dropBlockingConnection(worker: { backend: { blockingClient?: Promise<unknown> | undefined } }): Promise<void> {
  const pending = worker.backend.blockingClient;
  if (pending === undefined) return;
  const client = await Promise.race([pending.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 500).unref())]);
  (client as { disconnect?: () => void } | undefined)?.disconnect?.();
}
