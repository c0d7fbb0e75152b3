import path from 'node:path';
import type { GatewayConfig } from '../config/index.ts';
import type { DataLayout } from '../data-dir.ts';
import type { DerivedFile } from '../domain/derived-file.ts';
import type { ComponentHealth } from '../health.ts';
import { probeFfmpeg, RenderPool, type FfmpegStatus, type RenderSettings } from '../imaging/index.ts';
import type { Logger } from '../log.ts';

/** What rendering made of one instance; small, so that it travels through the queue as the job's result. */
export interface RenderResult {
  derived: DerivedFile[];
  skipped?: string;
}

export interface RendererDeps {
  config: GatewayConfig['rendering'];
  layout: Pick<DataLayout, 'root' | 'archive' | 'derived'>;
  log: Logger;
}

/**
 * Renders stored instances into `derived/` through a pool of worker threads, with the settings of the
 * config and the ffmpeg found at start. A missing ffmpeg is logged and reported in /healthz; only
 * objects that need video then fail, with the reason.
 */
export class Renderer {
  readonly #deps: RendererDeps;
  readonly #pool: RenderPool;
  #ffmpeg: Promise<FfmpegStatus> | undefined;
  #status: FfmpegStatus | undefined;
  #release: Promise<void> | undefined;

  constructor(deps: RendererDeps) {
    this.#deps = deps;
    this.#pool = new RenderPool({ threads: deps.config.workerThreads });
  }

  /** Looks for ffmpeg and says what it found. */
  async start(): Promise<FfmpegStatus> {
    const status = await this.#probe();
    if (status.available) this.#deps.log.info({ ffmpeg: status.path, version: status.version, threads: this.#pool.size }, 'rendering ready');
    else this.#deps.log.warn({ ffmpeg: status.path, reason: status.reason }, 'ffmpeg is not available: multi-frame images and videos will not be made into MP4 (install ffmpeg or set rendering.ffmpegPath)');
    return status;
  }

  #probe(): Promise<FfmpegStatus> {
    this.#ffmpeg ??= probeFfmpeg(this.#deps.config.ffmpegPath).then((status) => {
      this.#status = status;
      return status;
    });
    return this.#ffmpeg;
  }

  async settings(): Promise<RenderSettings> {
    const c = this.#deps.config;
    return {
      jpeg: { quality: c.jpegQuality, maxSize: c.maxSize },
      video: { ffmpegPath: c.ffmpegPath, preset: c.videoPreset, crf: c.videoCrf },
      defaultFps: c.defaultFps,
      windowPresets: c.windowPresets,
      ffmpeg: await this.#probe(),
    };
  }

  /** Renders the instance stored at `archivePath` (relative to `archive/`) into the same place under `derived/`. */
  async render(archivePath: string): Promise<RenderResult> {
    const { layout } = this.#deps;
    const outBase = path.join(layout.derived, archivePath.replace(/\.dcm$/, ''));
    const rendering = await this.#pool.renderInstance(path.join(layout.archive, archivePath), outBase, await this.settings());
    await this.#batch();
    return {
      derived: rendering.derived.map(({ file, ...rest }) => ({ ...rest, path: path.relative(layout.root, file).split(path.sep).join('/') })),
      ...(rendering.skipped === undefined ? {} : { skipped: rendering.skipped }),
    };
  }

  /**
   * Renders are handed back in batches, all those finished within 25 ms together. Each one handed
   * back completes a job, and a completion is a database commit (an fsync on the event loop that
   * serves DICOM); handed back one by one, a 1,000-instance import took twice as long, because the
   * group commit then holds one completion each.
   */
  #batch(): Promise<void> {
    this.#release ??= new Promise((resolve) => {
      setTimeout(() => {
        this.#release = undefined;
        resolve();
      }, 25);
    });
    return this.#release;
  }

  health(): ComponentHealth {
    const status = this.#status;
    const details = { threads: this.#pool.size, ffmpeg: status === undefined ? 'not checked yet' : status.available ? `${status.path} ${status.version}` : `missing (${status.reason})` };
    if (status !== undefined && !status.available) {
      return { ok: true, details, warning: `ffmpeg is not available (${status.reason}): multi-frame images and videos are not made into MP4; install ffmpeg or set rendering.ffmpegPath` };
    }
    return { ok: true, details };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
