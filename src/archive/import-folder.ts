import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import { isGatewayError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import { Poller } from '../poller.ts';
import type { ArchiveStore } from './archive-store.ts';
import { importPart10File } from './part10-import.ts';

export interface ImportFolderDeps {
  folder: string;
  archive: ArchiveStore;
  pollMs: number;
  settleMs: number;
  afterImport: 'move' | 'delete';
  clock: Clock;
  log: Logger;
}

export interface ImportReport {
  folder: string;
  lastScan: string | null;
  imported: number;
  failed: number;
}

const processedDir = 'processed';
const errorDir = 'error';

/**
 * Imports the DICOM Part 10 files dropped into a folder the way a C-STORE is received (durably,
 * indexed, with its follow-up job). An imported file then goes to `processed/` (or is removed); one
 * that cannot be imported goes to `error/` with a `.reason.txt` beside it. Nothing is skipped silently.
 */
export class ImportFolder {
  readonly #deps: ImportFolderDeps;
  readonly #poller: Poller<ImportReport>;
  #report: ImportReport;

  constructor(deps: ImportFolderDeps) {
    this.#deps = deps;
    this.#report = { folder: deps.folder, lastScan: null, imported: 0, failed: 0 };
    this.#poller = new Poller(deps.clock, deps.pollMs, () => this.#scan());
  }

  async start(): Promise<void> {
    for (const dir of [this.#deps.folder, path.join(this.#deps.folder, processedDir), path.join(this.#deps.folder, errorDir)]) await mkdir(dir, { recursive: true });
    this.#poller.start();
  }

  stop(): Promise<void> {
    return this.#poller.stop();
  }

  report(): ImportReport {
    return { ...this.#report };
  }

  /** One pass; concurrent callers share the pass under way. */
  scan(): Promise<ImportReport> {
    return this.#poller.run();
  }

  async #scan(): Promise<ImportReport> {
    let names: string[];
    try {
      names = (await readdir(this.#deps.folder, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.endsWith('.reason.txt')).map((e) => e.name);
    } catch (err) {
      this.#deps.log.error({ folder: this.#deps.folder, err }, 'cannot read the import folder');
      return this.report();
    }
    for (const name of names.sort()) {
      if (this.#poller.stopped) break;
      await this.#importOne(name);
    }
    this.#report.lastScan = this.#deps.clock.now().toISOString();
    return this.report();
  }

  async #importOne(name: string): Promise<void> {
    const file = path.join(this.#deps.folder, name);
    try {
      const s = await stat(file);
      // File times are the file system's (real time): a file still being copied is left for later.
      if (Date.now() - s.mtimeMs < this.#deps.settleMs) return;
    } catch {
      return;
    }
    try {
      const outcome = await importPart10File(this.#deps.archive, file, { callingAeTitle: '', associationId: 'import-folder' });
      if (this.#deps.afterImport === 'delete') await unlink(file);
      else await rename(file, await this.#free(path.join(this.#deps.folder, processedDir), name));
      this.#report.imported++;
      this.#deps.log.info({ file: name, outcome: outcome.kind }, 'file imported');
    } catch (err) {
      const reason = isGatewayError(err) ? (err.publicDetail ?? err.message) : (err as Error).message;
      this.#report.failed++;
      this.#deps.log.warn({ file: name, reason }, 'file not imported: moved to error/');
      try {
        const target = await this.#free(path.join(this.#deps.folder, errorDir), name);
        await rename(file, target);
        await writeFile(`${target}.reason.txt`, `${reason}\n`);
      } catch (moveErr) {
        this.#deps.log.error({ file: name, err: moveErr }, 'could not move a file that failed to import');
      }
    }
  }

  /** A name in `dir` that is not taken yet (a second file of the same name gets a suffix). */
  async #free(dir: string, name: string): Promise<string> {
    for (let i = 0; ; i++) {
      const candidate = path.join(dir, i === 0 ? name : `${name}.${i}`);
      try {
        await stat(candidate);
      } catch {
        return candidate;
      }
    }
  }
}
