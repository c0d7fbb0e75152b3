import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RecordsConfig } from '../config/records-schema.ts';
import { numberedName } from '../domain/export-name.ts';
import { PermanentJobError, TransientJobError, type JobDefinition } from '../jobs/index.ts';

export const recordsExportType = 'records-export';

/** Files being written wait here, on the export folder's own file system, until renamed into place. */
export const exportTempDir = '.dicom-gateway-tmp';

/**
 * Everything the copy needs travels in the payload (the file name is made in the main process from
 * the entry), so that a `dicom-gateway worker` without the database can run it on the shared volume.
 */
const payload = z
  .object({
    entryId: z.number().int().positive(),
    n: z.number().int().positive(),
    /** Relative to the data directory, under derived/. */
    source: z
      .string()
      .min(1)
      .max(1000)
      .refine((p) => p.startsWith('derived/') && !p.split('/').includes('..'), 'a path under derived/'),
    fileName: z
      .string()
      .min(1)
      .max(255)
      .refine((n) => !/[/\\]/.test(n) && !n.startsWith('.'), 'a plain file name'),
  })
  .strict();
export type RecordsExportPayload = z.infer<typeof payload>;

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some network file systems cannot fsync a directory; the rename is still atomic there.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Copies one attachment into the export folder: written to a temporary file, fsync'd, renamed into
 * place, the folder fsync'd; the PVS never sees half a file. A name already taken (another entry of
 * the same day and type, or a file the PVS has not picked up yet) gets ` (2)`, ` (3)`, ...
 */
export function recordsExportJob(deps: { export: RecordsConfig['export']; dataDir: string }): JobDefinition<RecordsExportPayload, { file: string } | { skipped: string }> {
  return {
    type: recordsExportType,
    payload,
    maxAttempts: deps.export.maxAttempts,
    backoff: { baseMs: deps.export.retrySeconds * 1000, maxMs: Math.max(deps.export.retrySeconds, deps.export.maxRetrySeconds) * 1000 },
    handler: async (ctx) => {
      if (deps.export.folder === undefined) return { skipped: 'no export folder is configured (records.export.folder)' };
      const folder = path.resolve(deps.export.folder);
      const root = path.resolve(deps.dataDir);
      const source = path.resolve(root, ctx.payload.source);
      if (!source.startsWith(path.join(root, 'derived') + path.sep)) throw new PermanentJobError('the attachment path is outside derived/');
      // The folder itself is never created: on an unmounted share that would fill the local disk
      // where the PVS never looks. Missing, it is waited for like a receiver that is down.
      if (!existsSync(folder)) throw new TransientJobError('the export folder does not exist (is its share mounted?)');
      const tempDir = path.join(folder, exportTempDir);
      await mkdir(tempDir, { recursive: true });
      const temp = path.join(tempDir, `${randomUUID()}.part`);
      try {
        await pipeline(createReadStream(source), createWriteStream(temp, { flags: 'wx' }), { signal: ctx.signal });
        // fsync through a second descriptor: it flushes the file's data whichever descriptor wrote it.
        const handle = await open(temp, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        let name = ctx.payload.fileName;
        // Export jobs run one at a time per process (concurrency 1); with several worker processes two
        // copies may race for a name, and the later rename replaces the earlier file of the same name.
        for (let copy = 2; existsSync(path.join(folder, name)); copy++) name = numberedName(ctx.payload.fileName, copy);
        await rename(temp, path.join(folder, name));
        await syncDir(folder);
        return { file: name };
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    },
  };
}
