import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { PersonName } from '../domain/person-name.ts';
import type { Database } from './database.ts';

/** One received instance as the index records it. */
export interface NewInstance {
  patient: { patientId: string; issuer: string; name: PersonName; birthDate: string; sex: '' | 'M' | 'F' | 'O' };
  study: { studyInstanceUid: string; studyDate: string; studyTime: string; accessionNumber: string; studyId: string; description: string; referringPhysician: string };
  series: { seriesInstanceUid: string; modality: string; seriesNumber: number | null; description: string; bodyPart: string };
  instance: {
    sopInstanceUid: string;
    sopClassUid: string;
    transferSyntaxUid: string;
    instanceNumber: number | null;
    frames: number;
    size: number;
    sha256: string;
    /** Relative to the archive directory. */
    path: string;
    callingAeTitle: string;
    associationId: string;
    receivedAt: string;
  };
}

export interface StoredInstance {
  id: number;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber: number | null;
  frames: number;
  size: number;
  sha256: string;
  path: string;
  callingAeTitle: string;
  associationId: string;
  receivedAt: string;
  duplicates: number;
  lastDuplicateAt: string | null;
}

export interface StudySummary {
  studyInstanceUid: string;
  patientId: string;
  issuerOfPatientId: string;
  patientName: PersonName;
  patientBirthDate: string;
  patientSex: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  studyId: string;
  description: string;
  modalities: string[];
  series: number;
  instances: number;
  updatedAt: string;
  /** The worklist order the study fulfilled, if it was linked to one. */
  order: StudyOrder | null;
  /**
   * Some of its instances came by e-mail in a set whose other mails have not all arrived yet: more
   * images may follow (mail relay, `GET /api/v1/mail/sets?incomplete=true`).
   */
  mailSetIncomplete: boolean;
}

/** The link from a study to the order it fulfilled. */
export interface StudyOrder {
  itemId: string;
  accessionNumber: string;
  requestedProcedureId: string;
  stepId: string;
}

export interface SeriesSummary {
  seriesInstanceUid: string;
  modality: string;
  seriesNumber: number | null;
  description: string;
  bodyPart: string;
  instances: number;
}

interface InstanceRow {
  id: number;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  study_instance_uid: string;
  series_instance_uid: string;
  instance_number: number | null;
  frames: number;
  size: number;
  sha256: string;
  path: string;
  calling_ae_title: string;
  association_id: string;
  received_at: string;
  duplicates: number;
  last_duplicate_at: string | null;
}

const instanceSelect = `SELECT i.*, se.series_instance_uid, st.study_instance_uid
  FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref`;

function toInstance(r: InstanceRow): StoredInstance {
  return {
    id: r.id,
    sopInstanceUid: r.sop_instance_uid,
    sopClassUid: r.sop_class_uid,
    transferSyntaxUid: r.transfer_syntax_uid,
    studyInstanceUid: r.study_instance_uid,
    seriesInstanceUid: r.series_instance_uid,
    instanceNumber: r.instance_number,
    frames: r.frames,
    size: r.size,
    sha256: r.sha256,
    path: r.path,
    callingAeTitle: r.calling_ae_title,
    associationId: r.association_id,
    receivedAt: r.received_at,
    duplicates: r.duplicates,
    lastDuplicateAt: r.last_duplicate_at,
  };
}

/**
 * Whether a study (`st`) holds instances of a received e-mail (the mail relay imports them with the
 * association id `mail-<inbound id>`) whose set still lacks mails.
 */
const mailSetIncomplete = `EXISTS (
  SELECT 1 FROM series se JOIN instances i ON i.series_ref = se.id JOIN mail_inbound m ON i.association_id = 'mail-' || m.id
  WHERE se.study_ref = st.id AND m.set_id IS NOT NULL
    AND (SELECT COUNT(DISTINCT m2.set_part) FROM mail_inbound m2
         WHERE m2.mailbox = m.mailbox AND m2.sender = m.sender AND m2.set_id = m.set_id AND m2.state = 'imported') < m.set_parts)`;

/** The archive index: studies, series and instances, with patients in the worklist's `patients` table. */
export class ArchiveRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  #prepare(tx: DatabaseSync, sql: string): StatementSync {
    return this.#db.statement(sql, tx);
  }

  instance(sopInstanceUid: string, tx: DatabaseSync = this.#db.sqlite): StoredInstance | undefined {
    const row = this.#prepare(tx, `${instanceSelect} WHERE i.sop_instance_uid = ?`).get(sopInstanceUid) as InstanceRow | undefined;
    return row === undefined ? undefined : toInstance(row);
  }

  /** The instances of a study with their series' modality, in series and instance order (the e-mail relay sends them). */
  instancesOfStudy(studyInstanceUid: string, tx: DatabaseSync = this.#db.sqlite): (StoredInstance & { modality: string })[] {
    const rows = this.#prepare(tx, `SELECT i.*, se.series_instance_uid, st.study_instance_uid, se.modality FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref WHERE st.study_instance_uid = ? ORDER BY se.series_number, se.id, i.instance_number, i.id`).all(studyInstanceUid) as unknown as (InstanceRow & { modality: string })[];
    return rows.map((r) => ({ ...toInstance(r), modality: r.modality }));
  }

  /**
   * The instance's patient. The PVS is the source of truth for demographics: an import creates a
   * patient, never rewrites one. Without a Patient ID there is no key to share: each study gets a
   * patient of its own (the one its first instance made), with the name its device sent.
   */
  #patientRef(tx: DatabaseSync, patient: NewInstance['patient'], studyInstanceUid: string, now: string): number {
    const values = [patient.issuer, patient.name.family, patient.name.given, patient.name.middle, patient.name.prefix, patient.name.suffix, patient.birthDate, patient.sex, now, now];
    const insert = `INSERT INTO patients (patient_id, issuer, family_name, given_name, middle_name, name_prefix, name_suffix, birth_date, sex, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    if (patient.patientId !== '') {
      const row = this.#prepare(tx, `${insert} ON CONFLICT (patient_id, issuer) WHERE patient_id <> '' DO UPDATE SET patient_id = excluded.patient_id RETURNING id`).get(patient.patientId, ...values) as { id: number };
      return row.id;
    }
    const known = this.#prepare(tx, 'SELECT patient_ref FROM studies WHERE study_instance_uid = ?').get(studyInstanceUid) as { patient_ref: number } | undefined;
    if (known !== undefined) return known.patient_ref;
    return (this.#prepare(tx, `${insert} RETURNING id`).get('', ...values) as { id: number }).id;
  }

  /**
   * Indexes an instance (patient, study and series created when new). With `replace`, an instance
   * already indexed is replaced and counted as a duplicate; returns the replaced one's path then.
   * Without, an instance already indexed throws (the caller checked in the same transaction).
   */
  index(tx: DatabaseSync, entry: NewInstance, replace: boolean): { instanceId: number; replaced: boolean; replacedPath: string | undefined } {
    const now = entry.instance.receivedAt;
    const { patient, study, series, instance } = entry;
    const patientRef = this.#patientRef(tx, patient, study.studyInstanceUid, now);
    const studyRef = (
      this.#prepare(
          tx,
          `INSERT INTO studies (study_instance_uid, patient_ref, study_date, study_time, accession_number, study_id, description, referring_physician, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (study_instance_uid) DO UPDATE SET updated_at = excluded.updated_at, stable_at = NULL RETURNING id`,
        )
        .get(study.studyInstanceUid, patientRef, study.studyDate, study.studyTime, study.accessionNumber, study.studyId, study.description, study.referringPhysician, now, now) as { id: number }
    ).id;
    const seriesRef = (
      this.#prepare(
          tx,
          `INSERT INTO series (series_instance_uid, study_ref, modality, series_number, description, body_part, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (series_instance_uid) DO UPDATE SET updated_at = excluded.updated_at RETURNING id`,
        )
        .get(series.seriesInstanceUid, studyRef, series.modality, series.seriesNumber, series.description, series.bodyPart, now, now) as { id: number }
    ).id;
    const existing = replace ? this.instance(instance.sopInstanceUid, tx) : undefined;
    const row = this.#prepare(
        tx,
        `INSERT INTO instances (sop_instance_uid, series_ref, sop_class_uid, transfer_syntax_uid, instance_number, frames, size, sha256, path, calling_ae_title, association_id, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sop_instance_uid) DO UPDATE SET series_ref = excluded.series_ref, sop_class_uid = excluded.sop_class_uid,
           transfer_syntax_uid = excluded.transfer_syntax_uid, instance_number = excluded.instance_number, frames = excluded.frames,
           size = excluded.size, sha256 = excluded.sha256, path = excluded.path, calling_ae_title = excluded.calling_ae_title,
           association_id = excluded.association_id, received_at = excluded.received_at,
           duplicates = duplicates + 1, last_duplicate_at = excluded.received_at
         WHERE ?
         RETURNING id`,
      )
      .get(
        instance.sopInstanceUid,
        seriesRef,
        instance.sopClassUid,
        instance.transferSyntaxUid,
        instance.instanceNumber,
        instance.frames,
        instance.size,
        instance.sha256,
        instance.path,
        instance.callingAeTitle,
        instance.associationId,
        instance.receivedAt,
        replace ? 1 : 0,
      ) as { id: number } | undefined;
    if (row === undefined) throw new Error(`instance ${instance.sopInstanceUid} is already indexed`);
    return { instanceId: row.id, replaced: existing !== undefined, replacedPath: existing !== undefined && existing.path !== instance.path ? existing.path : undefined };
  }

  /** Counts a copy that was received and not kept. */
  recordDuplicate(tx: DatabaseSync, sopInstanceUid: string, at: string): void {
    this.#prepare(tx, 'UPDATE instances SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE sop_instance_uid = ?').run(at, sopInstanceUid);
  }

  studies(q: { patientId?: string; limit: number; offset: number }): { studies: StudySummary[]; total: number } {
    const where = q.patientId === undefined ? '' : 'WHERE p.patient_id = ?';
    const params = q.patientId === undefined ? [] : [q.patientId];
    const total = (this.#db.sqlite.prepare(`SELECT COUNT(*) AS n FROM studies st JOIN patients p ON p.id = st.patient_ref ${where}`).get(...params) as { n: number }).n;
    const rows = this.#db.sqlite
      .prepare(
        `SELECT st.*, p.patient_id, p.issuer, p.family_name, p.given_name, p.middle_name, p.name_prefix, p.name_suffix, p.birth_date, p.sex,
           (SELECT COUNT(*) FROM series se WHERE se.study_ref = st.id) AS series_count,
           (SELECT COUNT(*) FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = st.id) AS instance_count,
           (SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_ref = st.id) AS modalities,
           ${mailSetIncomplete} AS mail_set_incomplete
         FROM studies st JOIN patients p ON p.id = st.patient_ref ${where}
         ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC LIMIT ? OFFSET ?`,
      )
      .all(...params, q.limit, q.offset) as Record<string, string | number | null>[];
    const s = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));
    return {
      total,
      studies: rows.map((r) => ({
        studyInstanceUid: s(r['study_instance_uid']),
        patientId: s(r['patient_id']),
        issuerOfPatientId: s(r['issuer']),
        patientName: { family: s(r['family_name']), given: s(r['given_name']), middle: s(r['middle_name']), prefix: s(r['name_prefix']), suffix: s(r['name_suffix']) },
        patientBirthDate: s(r['birth_date']),
        patientSex: s(r['sex']),
        studyDate: s(r['study_date']),
        studyTime: s(r['study_time']),
        accessionNumber: s(r['accession_number']),
        studyId: s(r['study_id']),
        description: s(r['description']),
        modalities: s(r['modalities']).split(',').filter((m) => m !== ''),
        series: Number(r['series_count']),
        mailSetIncomplete: Number(r['mail_set_incomplete']) === 1,
        instances: Number(r['instance_count']),
        updatedAt: s(r['updated_at']),
        order:
          r['order_item_id'] === null
            ? null
            : { itemId: s(r['order_item_id']), accessionNumber: s(r['order_accession_number']), requestedProcedureId: s(r['order_requested_procedure_id']), stepId: s(r['order_step_id']) },
      })),
    };
  }

  /**
   * Marks the studies without a new instance since `quietBefore` as stable (complete) and returns
   * their UIDs; a study that gets another instance later opens again.
   */
  markStable(tx: DatabaseSync, quietBefore: string, now: string): string[] {
    const rows = this.#prepare(tx, 'UPDATE studies SET stable_at = ? WHERE stable_at IS NULL AND updated_at <= ? RETURNING study_instance_uid').all(now, quietBefore) as {
      study_instance_uid: string;
    }[];
    return rows.map((r) => r.study_instance_uid);
  }

  /** Whether the study is linked to an order already. */
  isLinked(tx: DatabaseSync, studyInstanceUid: string): boolean {
    const row = this.#prepare(tx, 'SELECT order_item_id FROM studies WHERE study_instance_uid = ?').get(studyInstanceUid) as { order_item_id: string | null } | undefined;
    return row?.order_item_id !== null && row?.order_item_id !== undefined;
  }

  linkOrder(tx: DatabaseSync, studyInstanceUid: string, order: StudyOrder): void {
    this.#prepare(
      tx,
      'UPDATE studies SET order_item_id = ?, order_accession_number = ?, order_requested_procedure_id = ?, order_step_id = ? WHERE study_instance_uid = ? AND order_item_id IS NULL',
    ).run(order.itemId, order.accessionNumber, order.requestedProcedureId, order.stepId, studyInstanceUid);
  }

  /** The series of a study, or undefined when the study is unknown. */
  seriesOfStudy(studyInstanceUid: string): SeriesSummary[] | undefined {
    const study = this.#db.sqlite.prepare('SELECT id FROM studies WHERE study_instance_uid = ?').get(studyInstanceUid) as { id: number } | undefined;
    if (study === undefined) return undefined;
    const rows = this.#db.sqlite
      .prepare(
        `SELECT se.*, (SELECT COUNT(*) FROM instances i WHERE i.series_ref = se.id) AS instance_count
         FROM series se WHERE se.study_ref = ? ORDER BY se.series_number, se.id`,
      )
      .all(study.id) as Record<string, string | number | null>[];
    return rows.map((r) => ({
      seriesInstanceUid: String(r['series_instance_uid']),
      modality: String(r['modality'] ?? ''),
      seriesNumber: r['series_number'] === null ? null : Number(r['series_number']),
      description: String(r['description'] ?? ''),
      bodyPart: String(r['body_part'] ?? ''),
      instances: Number(r['instance_count']),
    }));
  }
}
