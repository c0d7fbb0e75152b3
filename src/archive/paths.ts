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
