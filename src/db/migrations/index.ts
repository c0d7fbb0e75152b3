import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { records } from './0008-records.ts';

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped. */
  version: number;
  name: string;
  sql: string;
}

// Versions 6 and 7 belong to branches developed alongside this one; the merge puts them in place of
// these stand-ins (nothing has shipped with them, so no database holds a stand-in).
const reserved = (version: number): Migration => ({ version, name: `reserved-${version}`, sql: 'SELECT 1;' });

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, reserved(6), reserved(7), records];
