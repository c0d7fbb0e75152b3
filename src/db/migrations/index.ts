import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { storageCommitment } from './0006-storage-commitment.ts';
import { derivedFiles } from './0007-derived-files.ts';
import { records } from './0008-records.ts';
import { anonymousPatients } from './0011-anonymous-patients.ts';

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped. */
  version: number;
  name: string;
  sql: string;
  /**
   * Runs with foreign key enforcement off (it cannot change inside a transaction, so around it),
   * for table rebuilds; `PRAGMA foreign_key_check` must find nothing before it commits.
   */
  foreignKeysOff?: boolean;
}

// Versions 9 and 10 belong to branches developed alongside this one; their merges put them in place
// of these stand-ins (nothing has shipped with them, so no database holds a stand-in).
const reserved = (version: number): Migration => ({ version, name: `reserved-${version}`, sql: 'SELECT 1;' });

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, storageCommitment, derivedFiles, records, reserved(9), reserved(10), anonymousPatients];
