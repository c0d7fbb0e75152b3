import { createHash } from 'node:crypto';
import path from 'node:path';
import { isValidUid } from '../domain/uid.ts';

function shortHash(uid: string): string {
  return createHash('sha256').update(uid).digest('hex').slice(0, 16);
}

/**
 * Where an instance lives, relative to `archive/`: `<study hash>/<series hash>/<SOP Instance UID>.dcm`.
 * Study and series are hashed (short, fixed length); the SOP Instance UID must be a valid UID (digits
 * and dots), so that no value of a dataset can reach outside the archive directory.
 */
export function archivePath(uids: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string }): string {
  if (!isValidUid(uids.sopInstanceUid)) throw new Error('not a valid SOP Instance UID');
  return path.join(shortHash(uids.studyInstanceUid), shortHash(uids.seriesInstanceUid), `${uids.sopInstanceUid}.dcm`);
}

/**
 * Where a replacing copy goes (`archive.duplicates: overwrite`): beside the instance's usual place
 * (`archivePath`), under a name of its own, so that the file it replaces stays whole until the index
 * points at the new one.
 */
export function replacementPath(usual: string, token: string): string {
  if (!usual.endsWith('.dcm') || !/^[a-z0-9]+$/.test(token)) throw new Error('not an archive path or not a valid token');
  return `${usual.slice(0, -'.dcm'.length)}.r${token}.dcm`;
}
