import type { DatabaseSync } from 'node:sqlite';
import type { PersonName } from '../domain/person-name.ts';
import type { DerivedFile, DerivedFileKind } from '../domain/derived-file.ts';
import type { RecordAttachment, RecordEntry, RecordSource, UnassignedReason } from '../domain/record-entry.ts';

/** An entry without its attachments (a study's entry may have thousands). */
export type EntryHeader = Omit<RecordEntry, 'attachments'>;
import type { Database } from './database.ts';

/** What the archive index says of an instance that records need. */
export interface IndexedInstance {
  instanceId: number;
  sopInstanceUid: string;
  /** Relative to the archive directory. */
  path: string;
  receivedAt: string;
  studyInstanceUid: string;
  studyDate: string;
  studyDescription: string;
  accessionNumber: string;
  modality: string;
  seriesDescription: string;
  patientId: string;
  issuer: string;
  patientName: PersonName;
  birthDate: string;
  sex: string;
}

export interface RegistryPatient {
  ref: number;
  patientId: string;
  issuer: string;
  family: string;
  given: string;
  birthDate: string;
  registered: boolean;
}

export interface NewEntry {
  type: string;
  title: string;
  date: string;
  text: string;
  source: RecordSource;
  studyInstanceUid: string | null;
  accessionNumber: string;
  patientRef: number | null;
  unassignedReason: UnassignedReason | null;
  at: string;
}

export interface NewAttachment extends DerivedFile {
  sopInstanceUid: string;
}

interface EntryRow {
  id: number;
  seq: number;
  type: string;
  title: string;
  entry_date: string;
  text: string;
  source: RecordSource;
  study_instance_uid: string | null;
  accession_number: string;
  patient_ref: number | null;
  unassigned_reason: UnassignedReason | null;
  created_at: string;
  updated_at: string;
  patient_id: string | null;
  issuer: string | null;
}

interface AttachmentRow {
  entry_ref: number;
  n: number;
  kind: DerivedFileKind;
  path: string;
  media_type: string;
  bytes: number;
  sha256: string;
  sop_instance_uid: string;
  width: number | null;
  height: number | null;
  frames: number | null;
  fps: number | null;
}

const entrySelect = `SELECT e.*, p.patient_id, p.issuer FROM record_entries e LEFT JOIN patients p ON p.id = e.patient_ref`;

function toAttachment(r: AttachmentRow): RecordAttachment {
  return {
    n: r.n,
    kind: r.kind,
    path: r.path,
    mediaType: r.media_type,
    bytes: r.bytes,
    sha256: r.sha256,
    sopInstanceUid: r.sop_instance_uid,
    width: r.width,
    height: r.height,
    frames: r.frames,
    fps: r.fps,
  };
}

function toHeader(r: EntryRow): EntryHeader {
  return {
    id: r.id,
    seq: r.seq,
    type: r.type,
    title: r.title,
    date: r.entry_date,
    text: r.text,
    source: r.source,
    studyInstanceUid: r.study_instance_uid,
    accessionNumber: r.accession_number,
    patient: r.patient_ref === null ? null : { patientId: r.patient_id ?? '', issuer: r.issuer ?? '' },
    unassignedReason: r.unassigned_reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toPatient(r: Record<string, unknown>): RegistryPatient {
  return {
    ref: Number(r['id']),
    patientId: String(r['patient_id']),
    issuer: String(r['issuer']),
    family: String(r['family_name']),
    given: String(r['given_name']),
    birthDate: String(r['birth_date']),
    registered: r['registered'] === 1,
  };
}

/** Record entries and their attachments, and the registry look-ups that assignment needs. */
export class RecordRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  instance(tx: DatabaseSync, instanceId: number): IndexedInstance | undefined {
    const r = this.#db
      .statement(
        `SELECT i.id, i.sop_instance_uid, i.path, i.received_at, st.study_instance_uid, st.study_date, st.description AS study_description,
           st.accession_number, se.modality, se.description AS series_description,
           p.patient_id, p.issuer, p.family_name, p.given_name, p.middle_name, p.name_prefix, p.name_suffix, p.birth_date, p.sex
         FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref JOIN patients p ON p.id = st.patient_ref
         WHERE i.id = ?`,
        tx,
      )
      .get(instanceId) as Record<string, string | number> | undefined;
    if (r === undefined) return undefined;
    const s = (k: string): string => String(r[k] ?? '');
    return {
      instanceId: Number(r['id']),
      sopInstanceUid: s('sop_instance_uid'),
      path: s('path'),
      receivedAt: s('received_at'),
      studyInstanceUid: s('study_instance_uid'),
      studyDate: s('study_date'),
      studyDescription: s('study_description'),
      accessionNumber: s('accession_number'),
      modality: s('modality'),
      seriesDescription: s('series_description'),
      patientId: s('patient_id'),
      issuer: s('issuer'),
      patientName: { family: s('family_name'), given: s('given_name'), middle: s('middle_name'), prefix: s('name_prefix'), suffix: s('name_suffix') },
      birthDate: s('birth_date'),
      sex: s('sex'),
    };
  }

  /** Registry rows with this patient number, registered or not (any issuer). */
  patientsByNumber(tx: DatabaseSync, patientId: string): RegistryPatient[] {
    return (this.#db.statement('SELECT * FROM patients WHERE patient_id = ? ORDER BY id', tx).all(patientId) as Record<string, unknown>[]).map(toPatient);
  }

  /** Registered patients born on this day; `yearDigits` 2 matches any century. */
  registeredByBirthDate(tx: DatabaseSync, date: { year: string; month: string; day: string }): RegistryPatient[] {
    const rows =
      date.year.length === 4
        ? this.#db.statement('SELECT * FROM patients WHERE registered = 1 AND birth_date = ? ORDER BY id', tx).all(`${date.year}${date.month}${date.day}`)
        : this.#db.statement("SELECT * FROM patients WHERE registered = 1 AND birth_date LIKE ? ESCAPE '\\' ORDER BY id", tx).all(`__${date.year}${date.month}${date.day}`);
    return (rows as Record<string, unknown>[]).map(toPatient);
  }

  patient(tx: DatabaseSync, patientId: string, issuer: string): RegistryPatient | undefined {
    const row = this.#db.statement('SELECT * FROM patients WHERE patient_id = ? AND issuer = ?', tx).get(patientId, issuer) as Record<string, unknown> | undefined;
    return row === undefined ? undefined : toPatient(row);
  }

  /** Marks a patient as known to the PVS. */
  register(tx: DatabaseSync, ref: number, at: string): void {
    this.#db.statement('UPDATE patients SET registered = 1, updated_at = ? WHERE id = ? AND registered = 0', tx).run(at, ref);
  }

  /** Creates a registered patient (createUnknown, or an assignment to a new number). */
  createPatient(tx: DatabaseSync, p: { patientId: string; issuer: string; name: PersonName; birthDate: string; sex: string }, at: string): number {
    const row = this.#db
      .statement(
        `INSERT INTO patients (patient_id, issuer, family_name, given_name, middle_name, name_prefix, name_suffix, birth_date, sex, registered, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
        tx,
      )
      .get(p.patientId, p.issuer, p.name.family, p.name.given, p.name.middle, p.name.prefix, p.name.suffix, p.birthDate, p.sex, at, at) as { id: number };
    return row.id;
  }

  #nextSeq(tx: DatabaseSync): number {
    // Writers are serialized (BEGIN IMMEDIATE), so a reader never sees seq n+1 committed before n.
    return (this.#db.statement('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM record_entries', tx).get() as { s: number }).s;
  }

  entryOfStudy(tx: DatabaseSync, studyInstanceUid: string, type: string, source: RecordSource): EntryHeader | undefined {
    const row = this.#db.statement(`${entrySelect} WHERE e.study_instance_uid = ? AND e.type = ? AND e.source = ?`, tx).get(studyInstanceUid, type, source) as EntryRow | undefined;
    return row === undefined ? undefined : toHeader(row);
  }

  entryHeader(id: number, tx: DatabaseSync = this.#db.sqlite): EntryHeader | undefined {
    const row = this.#db.statement(`${entrySelect} WHERE e.id = ?`, tx).get(id) as EntryRow | undefined;
    return row === undefined ? undefined : toHeader(row);
  }

  /** Some of an entry's attachments, by number. */
  attachments(tx: DatabaseSync, entryId: number, numbers: readonly number[]): RecordAttachment[] {
    if (numbers.length === 0) return [];
    const rows = tx
      .prepare(`SELECT * FROM record_attachments WHERE entry_ref = ? AND n IN (${numbers.map(() => '?').join(',')}) ORDER BY n`)
      .all(entryId, ...numbers) as unknown as AttachmentRow[];
    return rows.map(toAttachment);
  }

  attachmentCount(tx: DatabaseSync, entryId: number): number {
    return (this.#db.statement('SELECT COUNT(*) AS n FROM record_attachments WHERE entry_ref = ?', tx).get(entryId) as { n: number }).n;
  }

  createEntry(tx: DatabaseSync, e: NewEntry): number {
    const row = this.#db
      .statement(
        `INSERT INTO record_entries (seq, type, title, entry_date, text, source, study_instance_uid, accession_number, patient_ref, unassigned_reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        tx,
      )
      .get(this.#nextSeq(tx), e.type, e.title, e.date, e.text, e.source, e.studyInstanceUid, e.accessionNumber, e.patientRef, e.unassignedReason, e.at, e.at) as { id: number };
    return row.id;
  }

  /**
   * Adds a derived file to an entry, or updates the one with the same path (a file rendered again);
   * returns its number and whether anything changed.
   */
  putAttachment(tx: DatabaseSync, entryId: number, a: NewAttachment, at: string): { n: number; changed: boolean } {
    const existing = this.#db.statement('SELECT n, sha256, bytes FROM record_attachments WHERE entry_ref = ? AND path = ?', tx).get(entryId, a.path) as
      | { n: number; sha256: string; bytes: number }
      | undefined;
    if (existing !== undefined) {
      if (existing.sha256 === a.sha256 && existing.bytes === a.bytes) return { n: existing.n, changed: false };
      this.#db
        .statement('UPDATE record_attachments SET kind = ?, media_type = ?, bytes = ?, sha256 = ?, sop_instance_uid = ?, width = ?, height = ?, frames = ?, fps = ? WHERE entry_ref = ? AND n = ?', tx)
        .run(a.kind, a.mediaType, a.bytes, a.sha256, a.sopInstanceUid, a.width, a.height, a.frames, a.fps, entryId, existing.n);
      return { n: existing.n, changed: true };
    }
    const n = (this.#db.statement('SELECT COALESCE(MAX(n), 0) + 1 AS n FROM record_attachments WHERE entry_ref = ?', tx).get(entryId) as { n: number }).n;
    this.#db
      .statement(
        `INSERT INTO record_attachments (entry_ref, n, kind, path, media_type, bytes, sha256, sop_instance_uid, width, height, frames, fps, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        tx,
      )
      .run(entryId, n, a.kind, a.path, a.mediaType, a.bytes, a.sha256, a.sopInstanceUid, a.width, a.height, a.frames, a.fps, at);
    return { n, changed: true };
  }

  /** Moves the entry to the end of the feed (it changed), with a new text. */
  touch(tx: DatabaseSync, entryId: number, text: string, at: string): void {
    this.#db.statement('UPDATE record_entries SET seq = ?, text = ?, updated_at = ? WHERE id = ?', tx).run(this.#nextSeq(tx), text, at, entryId);
  }

  /** Files the entry under a patient (out of the inbox, or from one patient to another). */
  assign(tx: DatabaseSync, entryId: number, patientRef: number, at: string): void {
    this.#db.statement('UPDATE record_entries SET seq = ?, patient_ref = ?, unassigned_reason = NULL, updated_at = ? WHERE id = ?', tx).run(this.#nextSeq(tx), patientRef, at, entryId);
  }

  entry(id: number, tx: DatabaseSync = this.#db.sqlite): RecordEntry | undefined {
    const row = this.#db.statement(`${entrySelect} WHERE e.id = ?`, tx).get(id) as EntryRow | undefined;
    return row === undefined ? undefined : this.#withAttachments(tx, [row])[0];
  }

  /** Assigned entries that changed after `since`, in feed order. */
  feed(since: number, limit: number): RecordEntry[] {
    const rows = this.#db.statement(`${entrySelect} WHERE e.seq > ? AND e.patient_ref IS NOT NULL ORDER BY e.seq LIMIT ?`).all(since, limit) as unknown as EntryRow[];
    return this.#withAttachments(this.#db.sqlite, rows);
  }

  /** The unassigned inbox, oldest first. */
  inbox(limit: number, offset: number): { items: RecordEntry[]; total: number } {
    const total = (this.#db.statement('SELECT COUNT(*) AS n FROM record_entries WHERE patient_ref IS NULL').get() as { n: number }).n;
    const rows = this.#db.statement(`${entrySelect} WHERE e.patient_ref IS NULL ORDER BY e.id LIMIT ? OFFSET ?`).all(limit, offset) as unknown as EntryRow[];
    return { items: this.#withAttachments(this.#db.sqlite, rows), total };
  }

  #withAttachments(tx: DatabaseSync, rows: EntryRow[]): RecordEntry[] {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const attachments = tx
      .prepare(`SELECT * FROM record_attachments WHERE entry_ref IN (${ids.map(() => '?').join(',')}) ORDER BY entry_ref, n`)
      .all(...ids) as unknown as AttachmentRow[];
    const byEntry = new Map<number, RecordAttachment[]>();
    for (const a of attachments) {
      const list = byEntry.get(a.entry_ref) ?? [];
      list.push(toAttachment(a));
      byEntry.set(a.entry_ref, list);
    }
    return rows.map((r) => ({ ...toHeader(r), attachments: byEntry.get(r.id) ?? [] }));
  }
}
