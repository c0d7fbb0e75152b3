import type { DestinationStream } from 'pino';
import { systemClock, type Clock } from './clock.ts';
import type { GatewayConfig } from './config/index.ts';
import { GatewayError, ErrorCode } from './domain/errors.ts';
import { dataLayout } from './data-dir.ts';
import { jobCatalog, type JobCatalog } from './job-catalog.ts';
import { BullmqWorkerHost } from './jobs/index.ts';
import { createLogger, type Logger, type RootLogger } from './log.ts';
import { Renderer } from './rendering/index.ts';
import { version } from './version.ts';

export interface WorkerOptions {
  config: GatewayConfig;
  /** Only these job types (default: all). */
  types?: string[];
  clock?: Clock;
  stdout?: DestinationStream;
  pretty?: boolean;
  /** Further job types (tests). */
  jobs?: Partial<JobCatalog>;
}

/**
 * `dicom-gateway worker`: BullMQ workers only, for `queue.driver: redis`. It never opens the SQLite
 * database; jobs carry ids and paths on the shared data volume, and outcomes go back to the gateway
 * through the results queue. Logs go to stdout only (several processes must not share a log file).
 */
export class WorkerProcess {
  readonly #options: WorkerOptions;
  #root: RootLogger | undefined;
  #host: BullmqWorkerHost | undefined;
  #renderer: Renderer | undefined;

  constructor(options: WorkerOptions) {
    this.#options = options;
  }

  get log(): Logger {
    if (this.#root === undefined) throw new Error('worker not started');
    return this.#root.log;
  }

  async start(): Promise<string[]> {
    const { config } = this.#options;
    if (config.queue.driver !== 'redis' || config.queue.redisUrl === undefined) {
      throw new GatewayError(ErrorCode.Invalid, 'the worker command needs queue.driver: redis and queue.redisUrl (the embedded queue runs its workers inside the gateway)');
    }
    this.#root = await createLogger({
      level: config.logging.level,
      ...(this.#options.stdout === undefined ? {} : { stdout: this.#options.stdout }),
      pretty: this.#options.pretty ?? false,
    });
    const log = this.#root.log.child({ component: 'worker' });
    this.#renderer = new Renderer({ config: config.rendering, layout: dataLayout(config.dataDir), log: log.child({ component: 'rendering' }) });
    await this.#renderer.start();
    const catalog = jobCatalog({ config, log, clock: this.#options.clock ?? systemClock, renderer: this.#renderer });
    const definitions = [...catalog.definitions, ...(this.#options.jobs?.definitions ?? [])];
    const unknown = (this.#options.types ?? []).filter((t) => !definitions.some((d) => d.type === t));
    if (unknown.length > 0) throw new GatewayError(ErrorCode.Invalid, `unknown job types: ${unknown.join(', ')}`);
    this.#host = new BullmqWorkerHost({
      redisUrl: config.queue.redisUrl,
      prefix: config.queue.prefix,
      definitions,
      concurrency: config.queue.concurrency,
      ...(this.#options.types === undefined ? {} : { types: this.#options.types }),
      clock: this.#options.clock ?? systemClock,
      log,
    });
    await this.#host.start();
    log.info({ version, types: this.#host.types }, 'worker started');
    return this.#host.types;
  }

  async stop(): Promise<void> {
    const deadline = Date.now() + this.#options.config.shutdown.timeoutSeconds * 1000;
    await this.#host?.stop(deadline);
    await this.#renderer?.close();
    this.#root?.log.info('worker stopped');
    await this.#root?.close();
  }
}
