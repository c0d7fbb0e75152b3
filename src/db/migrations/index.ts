import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { placeholder6 } from './0006-placeholder.ts';
import { derivedFiles } from './0007-derived-files.ts';

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped. */
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, placeholder6, derivedFiles];
