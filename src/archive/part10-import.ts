import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ArchiveStore, StoreOutcome } from './archive-store.ts';
import { readPart10Meta } from './part10-meta.ts';

/**
 * Imports a DICOM Part 10 file the way a C-STORE is received: its dataset streams into the archive
 * behind our own meta header, then it is checked, stored durably and indexed with its follow-up job.
 * The import folder and the e-mail relay both come this way. Throws GatewayErrors as the store does.
 */
export async function importPart10File(archive: ArchiveStore, file: string, source: { callingAeTitle: string; associationId: string }): Promise<StoreOutcome> {
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    const size = (await handle.stat()).size;
    head = Buffer.alloc(Math.min(size, 64 * 1024));
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const meta = readPart10Meta(head);
  const request = { sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid, transferSyntaxUid: meta.transferSyntaxUid, ...source };
  const incoming = archive.begin(request);
  try {
    for await (const chunk of createReadStream(file, { start: meta.datasetOffset })) {
      if (!incoming.write(chunk as Buffer)) await new Promise<void>((resolve) => incoming.onDrain(resolve));
    }
  } catch (err) {
    await incoming.discard();
    throw err;
  }
  return archive.complete(incoming, request);
}
