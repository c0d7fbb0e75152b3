import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { storageCommitment } from './0006-storage-commitment.ts';
import { records } from './0008-records.ts';

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped. */
  version: number;
  name: string;
  sql: string;
}

// Version 7 belongs to a branch developed alongside this one; the merge puts it in place of this
// stand-in (nothing has shipped with it, so no database holds the stand-in).
const reserved = (version: number): Migration => ({ version, name: `reserved-${version}`, sql: 'SELECT 1;' });

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, storageCommitment, reserved(7), records];
