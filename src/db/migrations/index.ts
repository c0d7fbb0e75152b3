import { devices } from './0001-devices.ts';
import { associations } from './0002-associations.ts';
import { jobs } from './0003-jobs.ts';
import { worklist } from './0004-worklist.ts';
import { archive } from './0005-archive.ts';
import { mail } from './0009-mail.ts';
import { mailInterop } from './0010-mail-interop.ts';

export interface Migration {
  /** 1, 2, 3, ... in order; never renumber or edit one that has shipped. */
  version: number;
  name: string;
  sql: string;
}

/**
 * Versions 6 to 8 belong to work on other branches (rendering, records, ...). Until those land here
 * they are empty placeholders, so that the mail relay's migration keeps its number 9; merging a
 * branch replaces its placeholder with the real migration.
 */
const reserved = (version: number): Migration => ({ version, name: `reserved-${version}`, sql: '' });

export const migrations: readonly Migration[] = [devices, associations, jobs, worklist, archive, reserved(6), reserved(7), reserved(8), mail, mailInterop];
