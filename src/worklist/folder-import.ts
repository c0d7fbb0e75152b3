import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import { Poller } from '../poller.ts';
import type { WorklistRepository } from '../db/index.ts';
import { readDataset } from '../dicom/index.ts';
import { isGatewayError } from '../domain/errors.ts';
import { WorklistSource } from '../domain/worklist-item.ts';
import type { Logger } from '../log.ts';
import type { WorklistService } from './service.ts';

export interface FolderFileError {
  file: string;
  reason: string;
  at: string;
}

export interface FolderReport {
  folder: string;
  lastScan: string | null;
  files: number;
  errors: FolderFileError[];
}

export interface WorklistFolderDeps {
  folder: string;
  /** Our AE titles: a subfolder with one of these names holds that AE title's worklist (partition). */
  aeTitles: readonly string[];
  pollMs: number;
  worklist: WorklistService;
  repository: WorklistRepository;
  clock: Clock;
  log: Logger;
}

interface Known {
  signature: string;
}

interface Found {
  rel: string;
  partition: string;
}

/**
 * Imports `.wl` files from a folder the way wlmscpfs serves them: new and changed files become
 * worklist items, deleted files remove theirs. A file that cannot be used keeps its previous item (if
 * any) and is reported with the reason; the others go on.
 */
export class WorklistFolder {
  readonly #deps: WorklistFolderDeps;
  readonly #known = new Map<string, Known>();
  readonly #errors = new Map<string, FolderFileError>();
  #lastScan: string | null = null;
  #fileCount = 0;
  readonly #poller: Poller<FolderReport>;

  constructor(deps: WorklistFolderDeps) {
    this.#deps = deps;
    this.#poller = new Poller(deps.clock, deps.pollMs, () => this.#scan());
  }

  start(): void {
    this.#poller.start();
  }

  stop(): Promise<void> {
    return this.#poller.stop();
  }

  report(): FolderReport {
    return { folder: this.#deps.folder, lastScan: this.#lastScan, files: this.#fileCount, errors: [...this.#errors.values()] };
  }

  /** One pass over the folder; concurrent callers share the pass under way. */
  scan(): Promise<FolderReport> {
    return this.#poller.run();
  }

  async #scan(): Promise<FolderReport> {
    const { log } = this.#deps;
    let found: Found[];
    try {
      found = await this.#list();
    } catch (err) {
      this.#errors.set('(folder)', { file: '(folder)', reason: `cannot read the worklist folder: ${(err as Error).message}`, at: this.#now() });
      log.error({ folder: this.#deps.folder, err }, 'cannot read the worklist folder');
      return this.report();
    }
    this.#errors.delete('(folder)');
    for (const f of found) await this.#importOne(f);

    const present = new Set(found.map((f) => f.rel));
    for (const [rel, itemId] of this.#deps.repository.listSourceFiles()) {
      if (present.has(rel)) continue;
      await this.#deps.worklist.delete(itemId);
      this.#known.delete(rel);
      this.#errors.delete(rel);
      log.info({ file: rel, itemId }, 'worklist file removed: item deleted');
    }
    for (const rel of [...this.#errors.keys()]) if (rel !== '(folder)' && !present.has(rel)) this.#errors.delete(rel);
    this.#fileCount = found.length;
    this.#lastScan = this.#now();
    return this.report();
  }

  async #importOne(f: Found): Promise<void> {
    const abs = path.join(this.#deps.folder, f.rel);
    let signature: string;
    try {
      const s = await stat(abs);
      signature = `${s.mtimeMs}:${s.size}`;
    } catch {
      return; // removed between listing and reading: the next pass sees it gone
    }
    if (this.#known.get(f.rel)?.signature === signature) return;
    this.#known.set(f.rel, { signature });
    try {
      const input = readDataset(await readFile(abs));
      const { item, created } = await this.#deps.worklist.save(input, { source: WorklistSource.Folder, sourceFile: f.rel, partition: f.partition });
      this.#errors.delete(f.rel);
      this.#deps.log.debug({ file: f.rel, itemId: item.id, created }, 'worklist file imported');
    } catch (err) {
      const reason = isGatewayError(err)
        ? `${err.message}: ${err.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`
        : `not a readable DICOM dataset: ${(err as Error).message}`;
      this.#errors.set(f.rel, { file: f.rel, reason, at: this.#now() });
      // The log names the fields only: the messages may quote patient data.
      this.#deps.log.warn({ file: f.rel, fields: isGatewayError(err) ? err.issues.map((i) => i.path) : undefined, error: isGatewayError(err) ? err.message : (err as Error).message }, 'worklist file not imported');
    }
  }

  async #list(): Promise<Found[]> {
    const out: Found[] = [];
    const entries = await readdir(this.#deps.folder, { withFileTypes: true });
    for (const e of entries) {
      if (e.isFile() && e.name.toLowerCase().endsWith('.wl')) out.push({ rel: e.name, partition: '' });
      else if (e.isDirectory() && this.#deps.aeTitles.includes(e.name)) {
        for (const sub of await readdir(path.join(this.#deps.folder, e.name), { withFileTypes: true })) {
          if (sub.isFile() && sub.name.toLowerCase().endsWith('.wl')) out.push({ rel: `${e.name}/${sub.name}`, partition: e.name });
        }
      }
    }
    return out.sort((a, b) => a.rel.localeCompare(b.rel));
  }

  #now(): string {
    return this.#deps.clock.now().toISOString();
  }
}
