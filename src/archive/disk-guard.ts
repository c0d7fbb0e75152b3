import { statfs } from 'node:fs/promises';
import type { ComponentHealth } from '../health.ts';

const recentMs = 500;
const marginBytes = 256 * 1024 * 1024;

/**
 * Watches the free space of the archive's file system. Below `minFreeMb` new storage associations are
 * refused and stores under way are answered A700, so that a full disk never leaves a partial archive.
 */
export class DiskGuard {
  readonly #dir: string;
  readonly #minFreeBytes: number;
  #freeBytes: number | undefined;
  #error: string | undefined;
  /** performance.now() of the last measurement. */
  #measuredAt = Number.NEGATIVE_INFINITY;

  constructor(deps: { dir: string; minFreeMb: number }) {
    this.#dir = deps.dir;
    this.#minFreeBytes = deps.minFreeMb * 1024 * 1024;
  }

  /**
   * True when there is room. Measures now, unless the last measurement, less than half a second ago,
   * found far more than the minimum: no network fills 256 MB in that time, and every stored instance
   * asks (a system call each, on a hot path).
   */
  async check(): Promise<boolean> {
    const recent = performance.now() - this.#measuredAt < recentMs;
    if (recent && this.#error === undefined && this.#freeBytes !== undefined && this.#freeBytes >= this.#minFreeBytes + marginBytes) return true;
    this.#measuredAt = performance.now();
    try {
      const s = await statfs(this.#dir);
      this.#freeBytes = s.bavail * s.bsize;
      this.#error = undefined;
    } catch (err) {
      this.#error = (err as Error).message;
    }
    return this.hasRoom;
  }

  /** As last measured. */
  get hasRoom(): boolean {
    return this.#error === undefined && (this.#freeBytes === undefined || this.#freeBytes >= this.#minFreeBytes);
  }

  /** As last measured; also starts a new measurement, so that the next report is current. */
  health(): ComponentHealth {
    void this.check();
    const details = { freeMb: this.#freeBytes === undefined ? null : Math.floor(this.#freeBytes / 1024 / 1024), minFreeMb: this.#minFreeBytes / 1024 / 1024 };
    if (this.#error !== undefined) return { ok: false, reason: `cannot measure the archive's free space: ${this.#error}`, details };
    if (!this.hasRoom) return { ok: false, reason: `less than archive.minFreeMb (${details.minFreeMb} MB) free in the archive: storage associations are refused`, details };
    return { ok: true, details };
  }
}
