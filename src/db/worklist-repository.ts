import type { DatabaseSync } from 'node:sqlite';
import type { PatientDemographics, ScheduledStep, StepStatus, WorklistItem, WorklistItemData, WorklistSource } from '../domain/worklist-item.ts';
import { deriveItemStatus } from '../domain/worklist-item.ts';
import type { Database, SqlValue } from './database.ts';

interface ItemRow {
  id: string;
  patient_ref: number;
  accession_number: string;
  study_instance_uid: string;
  partition: string;
  source: WorklistSource;
  source_file: string | null;
  data: string;
  created_at: string;
  updated_at: string;
  patient_id: string;
  issuer: string;
  family_name: string;
  given_name: string;
  middle_name: string;
  name_prefix: string;
  name_suffix: string;
  birth_date: string;
  sex: PatientDemographics['sex'];
  other_ids: string;
}

interface StepRow {
  item_id: string;
  step_id: string;
  station_ae_title: string;
  modality: string;
  start_date: string;
  start_time: string;
  status: StepStatus;
  data: string;
}

/** Item fields kept as JSON: everything but the patient, the steps and the indexed columns. */
type ItemJson = Omit<WorklistItemData, 'patient' | 'steps' | 'accessionNumber' | 'studyInstanceUid'>;
type StepJson = Pick<ScheduledStep, 'stationName' | 'performingPhysician' | 'description' | 'protocolCodes' | 'location'>;

export interface WorklistSearch {
  dateFrom?: string;
  dateTo?: string;
  modality?: string;
  stationAeTitle?: string;
  /** Items with at least one step in one of these. */
  statuses?: readonly StepStatus[];
  patientId?: string;
  accessionNumber?: string;
  limit: number;
  offset: number;
}

/** What a C-FIND may narrow the candidates to before matching (all optional, all exact). */
export interface StepCandidateFilter {
  modalities?: readonly string[];
  stationAeTitles?: readonly string[];
  dateFrom?: string;
  dateTo?: string;
  patientId?: string;
  accessionNumber?: string;
  statuses: readonly StepStatus[];
  partitions: readonly string[];
}

export interface NewItem {
  id: string;
  data: WorklistItemData;
  source: WorklistSource;
  sourceFile: string | null;
  partition: string;
}

const itemSelect = `SELECT i.*, p.patient_id, p.issuer, p.family_name, p.given_name, p.middle_name, p.name_prefix, p.name_suffix, p.birth_date, p.sex, p.other_ids
  FROM worklist_items i JOIN patients p ON p.id = i.patient_ref`;

function toStep(row: StepRow): ScheduledStep {
  const json = JSON.parse(row.data) as StepJson;
  return { ...json, stepId: row.step_id, stationAeTitle: row.station_ae_title, modality: row.modality, startDate: row.start_date, startTime: row.start_time, status: row.status };
}

function toItem(row: ItemRow, steps: ScheduledStep[]): WorklistItem {
  const json = JSON.parse(row.data) as ItemJson;
  return {
    ...json,
    id: row.id,
    patient: {
      patientId: row.patient_id,
      issuer: row.issuer,
      name: { family: row.family_name, given: row.given_name, middle: row.middle_name, prefix: row.name_prefix, suffix: row.name_suffix },
      birthDate: row.birth_date,
      sex: row.sex,
      otherIds: JSON.parse(row.other_ids) as PatientDemographics['otherIds'],
    },
    accessionNumber: row.accession_number,
    studyInstanceUid: row.study_instance_uid,
    steps,
    status: deriveItemStatus(steps),
    source: row.source,
    sourceFile: row.source_file,
    partition: row.partition,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Removes steps dated before `pastBefore` (DA) and finished steps whose status changed before
 * `finishedBefore` (ISO instant), then items left without steps. Patients stay. Runs in the caller's
 * transaction (the cleanup job's completion, or the API's manual cleanup).
 */
export function cleanupWorklist(tx: DatabaseSync, pastBefore: string, finishedBefore: string): { steps: number; items: number } {
  const steps = tx
    .prepare(`DELETE FROM worklist_steps WHERE start_date < ? OR (status IN ('completed', 'discontinued', 'cancelled') AND status_changed_at < ?)`)
    .run(pastBefore, finishedBefore);
  const items = tx.prepare('DELETE FROM worklist_items WHERE NOT EXISTS (SELECT 1 FROM worklist_steps s WHERE s.item_id = worklist_items.id)').run();
  tx.prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(finishedBefore);
  return { steps: Number(steps.changes), items: Number(items.changes) };
}

/**
 * Patients, worklist items and their steps. Methods taking a `DatabaseSync` run inside the caller's
 * transaction (the service groups an item's rows and its follow-up jobs in one commit).
 */
export class WorklistRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Inserts or refreshes the patient (the PVS is the source of truth); returns its row id. */
  upsertPatient(tx: DatabaseSync, p: PatientDemographics, now: string): number {
    const row = tx
      .prepare(
        `INSERT INTO patients (patient_id, issuer, family_name, given_name, middle_name, name_prefix, name_suffix, birth_date, sex, other_ids, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (patient_id, issuer) WHERE patient_id <> '' DO UPDATE SET family_name = excluded.family_name, given_name = excluded.given_name,
           middle_name = excluded.middle_name, name_prefix = excluded.name_prefix, name_suffix = excluded.name_suffix,
           birth_date = excluded.birth_date, sex = excluded.sex, other_ids = excluded.other_ids, updated_at = excluded.updated_at
         RETURNING id`,
      )
      .get(p.patientId, p.issuer, p.name.family, p.name.given, p.name.middle, p.name.prefix, p.name.suffix, p.birthDate, p.sex, JSON.stringify(p.otherIds), now, now) as { id: number };
    return row.id;
  }

  /** Writes an item and replaces its steps; keeps the status of steps that stay. */
  save(tx: DatabaseSync, item: NewItem, now: string): void {
    const { patient, steps, accessionNumber, studyInstanceUid, ...rest } = item.data;
    const patientRef = this.upsertPatient(tx, patient, now);
    tx.prepare(
      `INSERT INTO worklist_items (id, patient_ref, accession_number, study_instance_uid, partition, source, source_file, data, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET patient_ref = excluded.patient_ref, accession_number = excluded.accession_number,
         study_instance_uid = excluded.study_instance_uid, partition = excluded.partition, source = excluded.source,
         source_file = excluded.source_file, data = excluded.data, updated_at = excluded.updated_at`,
    ).run(item.id, patientRef, accessionNumber, studyInstanceUid, item.partition, item.source, item.sourceFile, JSON.stringify(rest satisfies ItemJson), now, now);
    const keep = steps.map((s) => s.stepId);
    tx.prepare(`DELETE FROM worklist_steps WHERE item_id = ? AND step_id NOT IN (SELECT value FROM json_each(?))`).run(item.id, JSON.stringify(keep));
    const upsert = tx.prepare(
      `INSERT INTO worklist_steps (item_id, step_id, station_ae_title, modality, start_date, start_time, status, data, status_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (item_id, step_id) DO UPDATE SET station_ae_title = excluded.station_ae_title, modality = excluded.modality,
         start_date = excluded.start_date, start_time = excluded.start_time, data = excluded.data`,
    );
    for (const s of steps) {
      const json: StepJson = { stationName: s.stationName, performingPhysician: s.performingPhysician, description: s.description, protocolCodes: s.protocolCodes, location: s.location };
      upsert.run(item.id, s.stepId, s.stationAeTitle, s.modality, s.startDate, s.startTime, s.status, JSON.stringify(json), now);
    }
  }

  get(id: string): WorklistItem | undefined {
    const row = this.#db.sqlite.prepare(`${itemSelect} WHERE i.id = ?`).get(id) as ItemRow | undefined;
    return row === undefined ? undefined : toItem(row, this.#stepsOf([row.id]).get(row.id) ?? []);
  }

  /** The item that already holds this accession number and step ID, if any. */
  findByAccessionAndStep(accessionNumber: string, stepIds: readonly string[]): string | undefined {
    if (accessionNumber === '') return undefined;
    const row = this.#db.sqlite
      .prepare(
        `SELECT i.id FROM worklist_items i JOIN worklist_steps s ON s.item_id = i.id
         WHERE i.accession_number = ? AND s.step_id IN (SELECT value FROM json_each(?)) LIMIT 1`,
      )
      .get(accessionNumber, JSON.stringify(stepIds)) as { id: string } | undefined;
    return row?.id;
  }

  /**
   * The steps an MPPS reference points to: by step ID together with the accession number, the Study
   * Instance UID or the requested procedure ID (whichever the device filled in).
   */
  findStepsByReference(tx: DatabaseSync, ref: { accessionNumber: string; studyInstanceUid: string; requestedProcedureId: string; stepId: string }): [string, string][] {
    if (ref.stepId === '') return [];
    const rows = tx
      .prepare(
        `SELECT s.item_id, s.step_id FROM worklist_steps s JOIN worklist_items i ON i.id = s.item_id
         WHERE s.step_id = ? AND ((? <> '' AND i.accession_number = ?) OR (? <> '' AND i.study_instance_uid = ?)
           OR (? <> '' AND json_extract(i.data, '$.requestedProcedure.id') = ?))`,
      )
      .all(ref.stepId, ref.accessionNumber, ref.accessionNumber, ref.studyInstanceUid, ref.studyInstanceUid, ref.requestedProcedureId, ref.requestedProcedureId) as { item_id: string; step_id: string }[];
    return rows.map((r) => [r.item_id, r.step_id]);
  }

  /**
   * The step a received study fulfils: by its Study Instance UID, else its accession number, else the
   * patient ID with the study date and modality. Steps still open and of the study's modality first.
   */
  findStepForStudy(
    tx: DatabaseSync,
    s: { studyInstanceUid: string; accessionNumber: string; patientId: string; studyDate: string; modality: string },
  ): { itemId: string; stepId: string; status: StepStatus; accessionNumber: string; requestedProcedureId: string } | undefined {
    const select = `SELECT s.item_id, s.step_id, s.status, i.accession_number, json_extract(i.data, '$.requestedProcedure.id') AS rp
      FROM worklist_steps s JOIN worklist_items i ON i.id = s.item_id JOIN patients p ON p.id = i.patient_ref`;
    const order = `ORDER BY s.status IN ('scheduled', 'in_progress') DESC, s.modality = ? DESC, s.start_date, s.start_time LIMIT 1`;
    type Found = { item_id: string; step_id: string; status: StepStatus; accession_number: string; rp: string | null };
    const found =
      (this.#db.statement(`${select} WHERE i.study_instance_uid = ? ${order}`, tx).get(s.studyInstanceUid, s.modality) as Found | undefined) ??
      (s.accessionNumber === '' ? undefined : (this.#db.statement(`${select} WHERE i.accession_number = ? ${order}`, tx).get(s.accessionNumber, s.modality) as Found | undefined)) ??
      (s.patientId === '' || s.studyDate === '' || s.modality === ''
        ? undefined
        : (this.#db
            .statement(`${select} WHERE p.patient_id = ? AND s.start_date = ? AND s.modality = ? AND s.status IN ('scheduled', 'in_progress') ${order}`, tx)
            .get(s.patientId, s.studyDate, s.modality, s.modality) as Found | undefined));
    return found === undefined
      ? undefined
      : { itemId: found.item_id, stepId: found.step_id, status: found.status, accessionNumber: found.accession_number, requestedProcedureId: found.rp ?? '' };
  }

  findBySourceFile(file: string): string | undefined {
    const row = this.#db.sqlite.prepare('SELECT id FROM worklist_items WHERE source_file = ?').get(file) as { id: string } | undefined;
    return row?.id;
  }

  listSourceFiles(): Map<string, string> {
    const rows = this.#db.sqlite.prepare('SELECT id, source_file FROM worklist_items WHERE source_file IS NOT NULL').all() as { id: string; source_file: string }[];
    return new Map(rows.map((r) => [r.source_file, r.id]));
  }

  delete(tx: DatabaseSync, id: string): boolean {
    return Number(tx.prepare('DELETE FROM worklist_items WHERE id = ?').run(id).changes) > 0;
  }

  setStepStatus(tx: DatabaseSync, itemId: string, stepIds: readonly string[] | 'all-open', status: StepStatus, now: string): number {
    const result =
      stepIds === 'all-open'
        ? tx.prepare(`UPDATE worklist_steps SET status = ?, status_changed_at = ? WHERE item_id = ? AND status IN ('scheduled', 'in_progress')`).run(status, now, itemId)
        : tx.prepare(`UPDATE worklist_steps SET status = ?, status_changed_at = ? WHERE item_id = ? AND step_id IN (SELECT value FROM json_each(?))`).run(status, now, itemId, JSON.stringify(stepIds));
    tx.prepare('UPDATE worklist_items SET updated_at = ? WHERE id = ?').run(now, itemId);
    return Number(result.changes);
  }

  search(q: WorklistSearch): { items: WorklistItem[]; total: number } {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const stepConds: string[] = [];
    if (q.dateFrom !== undefined) (stepConds.push('s.start_date >= ?'), params.push(q.dateFrom));
    if (q.dateTo !== undefined) (stepConds.push('s.start_date <= ?'), params.push(q.dateTo));
    if (q.modality !== undefined) (stepConds.push('s.modality = ?'), params.push(q.modality));
    if (q.stationAeTitle !== undefined) (stepConds.push('s.station_ae_title = ?'), params.push(q.stationAeTitle));
    if (q.statuses !== undefined && q.statuses.length > 0) (stepConds.push('s.status IN (SELECT value FROM json_each(?))'), params.push(JSON.stringify(q.statuses)));
    if (stepConds.length > 0) where.push(`EXISTS (SELECT 1 FROM worklist_steps s WHERE s.item_id = i.id AND ${stepConds.join(' AND ')})`);
    if (q.patientId !== undefined) (where.push('p.patient_id = ?'), params.push(q.patientId));
    if (q.accessionNumber !== undefined) (where.push('i.accession_number = ?'), params.push(q.accessionNumber));
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const total = (this.#db.sqlite.prepare(`SELECT COUNT(*) AS n FROM worklist_items i JOIN patients p ON p.id = i.patient_ref ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#db.sqlite
      .prepare(`${itemSelect} ${clause} ORDER BY (SELECT MIN(start_date || start_time) FROM worklist_steps WHERE item_id = i.id), i.id LIMIT ? OFFSET ?`)
      .all(...params, q.limit, q.offset) as unknown as ItemRow[];
    const steps = this.#stepsOf(rows.map((r) => r.id));
    return { items: rows.map((r) => toItem(r, steps.get(r.id) ?? [])), total };
  }

  #stepsOf(itemIds: readonly string[]): Map<string, ScheduledStep[]> {
    const out = new Map<string, ScheduledStep[]>();
    if (itemIds.length === 0) return out;
    const rows = this.#db.sqlite
      .prepare('SELECT * FROM worklist_steps WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY item_id, start_date, start_time, step_id')
      .all(JSON.stringify(itemIds)) as unknown as StepRow[];
    for (const row of rows) {
      const list = out.get(row.item_id) ?? [];
      list.push(toStep(row));
      out.set(row.item_id, list);
    }
    return out;
  }

  /**
   * Worklist items with one step each, for the steps that pass the filter, in start order. Lazy: the
   * caller stops reading when it has enough.
   */
  *stepCandidates(f: StepCandidateFilter): Generator<WorklistItem> {
    const conds: string[] = ['s.status IN (SELECT value FROM json_each(?))', 'i.partition IN (SELECT value FROM json_each(?))'];
    const params: SqlValue[] = [JSON.stringify(f.statuses), JSON.stringify(f.partitions)];
    if (f.dateFrom !== undefined) (conds.push('s.start_date >= ?'), params.push(f.dateFrom));
    if (f.dateTo !== undefined) (conds.push('s.start_date <= ?'), params.push(f.dateTo));
    if (f.modalities !== undefined) (conds.push('s.modality IN (SELECT value FROM json_each(?))'), params.push(JSON.stringify(f.modalities)));
    if (f.stationAeTitles !== undefined) (conds.push('s.station_ae_title IN (SELECT value FROM json_each(?))'), params.push(JSON.stringify(f.stationAeTitles)));
    if (f.patientId !== undefined) (conds.push('p.patient_id = ?'), params.push(f.patientId));
    if (f.accessionNumber !== undefined) (conds.push('i.accession_number = ?'), params.push(f.accessionNumber));
    const sql = `SELECT i.*, p.patient_id, p.issuer, p.family_name, p.given_name, p.middle_name, p.name_prefix, p.name_suffix, p.birth_date, p.sex, p.other_ids,
        s.item_id AS s_item_id, s.step_id AS s_step_id, s.station_ae_title AS s_station_ae_title, s.modality AS s_modality,
        s.start_date AS s_start_date, s.start_time AS s_start_time, s.status AS s_status, s.data AS s_data
      FROM worklist_steps s JOIN worklist_items i ON i.id = s.item_id JOIN patients p ON p.id = i.patient_ref
      WHERE ${conds.join(' AND ')} ORDER BY s.start_date, s.start_time, s.item_id, s.step_id`;
    for (const raw of this.#db.sqlite.prepare(sql).iterate(...params)) {
      const row = raw as unknown as ItemRow & { s_item_id: string; s_step_id: string; s_station_ae_title: string; s_modality: string; s_start_date: string; s_start_time: string; s_status: StepStatus; s_data: string };
      const step = toStep({
        item_id: row.s_item_id,
        step_id: row.s_step_id,
        station_ae_title: row.s_station_ae_title,
        modality: row.s_modality,
        start_date: row.s_start_date,
        start_time: row.s_start_time,
        status: row.s_status,
        data: row.s_data,
      });
      yield toItem(row, [step]);
    }
  }

  /** A stored idempotent response, if the key was seen. */
  idempotent(key: string): { requestHash: string; status: number; body: string } | undefined {
    const row = this.#db.sqlite.prepare('SELECT request_hash, status, body FROM idempotency_keys WHERE key = ?').get(key) as { request_hash: string; status: number; body: string } | undefined;
    return row === undefined ? undefined : { requestHash: row.request_hash, status: row.status, body: row.body };
  }

  rememberIdempotent(tx: DatabaseSync, key: string, requestHash: string, status: number, body: string, now: string): void {
    tx.prepare('INSERT OR REPLACE INTO idempotency_keys (key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)').run(key, requestHash, status, body, now);
  }
}
