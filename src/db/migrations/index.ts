import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { storageCommitment } from './0006-storage-commitment.ts';
import { derivedFiles } from './0007-derived-files.ts';
import { records } from './0008-records.ts';
import { mail } from './0009-mail.ts';
import { mailInterop } from './0010-mail-interop.ts';
import { anonymousPatients } from './0011-anonymous-patients.ts';
import { mailDocuments } from './0012-mail-documents.ts';
import { mailboxes } from './0013-mailboxes.ts';

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

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, storageCommitment, derivedFiles, records, mail, mailInterop, anonymousPatients, mailDocuments, mailboxes];
