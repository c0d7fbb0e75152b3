import type { PatientDemographics } from '../domain/worklist-item.ts';
import type { Database, SqlValue } from './database.ts';

export interface PatientSummary extends PatientDemographics {
  studies: number;
  worklistItems: number;
  /** Whether the PVS has named this patient (a worklist order, or a records assignment); only such patients get record entries by ID. */
  registered: boolean;
  updatedAt: string;
}

/** The one registry of patients (filled by worklist orders and received studies), read side. */
export class PatientRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** `name` matches the start of the family name, ignoring case. */
  list(q: { patientId?: string; name?: string; limit: number; offset: number }): { items: PatientSummary[]; total: number } {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.patientId !== undefined) (where.push('p.patient_id = ?'), params.push(q.patientId));
    if (q.name !== undefined) (where.push("p.family_name LIKE ? ESCAPE '\\'"), params.push(`${q.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const total = (this.#db.sqlite.prepare(`SELECT COUNT(*) AS n FROM patients p ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#db.sqlite
      .prepare(
        `SELECT p.*, (SELECT COUNT(*) FROM studies s WHERE s.patient_ref = p.id) AS study_count,
           (SELECT COUNT(*) FROM worklist_items i WHERE i.patient_ref = p.id) AS item_count
         FROM patients p ${clause} ORDER BY p.family_name, p.given_name, p.id LIMIT ? OFFSET ?`,
      )
      .all(...params, q.limit, q.offset) as Record<string, string | number>[];
    const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
    return {
      total,
      items: rows.map((r) => ({
        patientId: s(r['patient_id']),
        issuer: s(r['issuer']),
        name: { family: s(r['family_name']), given: s(r['given_name']), middle: s(r['middle_name']), prefix: s(r['name_prefix']), suffix: s(r['name_suffix']) },
        birthDate: s(r['birth_date']),
        sex: s(r['sex']) as PatientDemographics['sex'],
        otherIds: JSON.parse(s(r['other_ids']) || '[]') as PatientDemographics['otherIds'],
        studies: Number(r['study_count']),
        worklistItems: Number(r['item_count']),
        registered: r['registered'] === 1,
        updatedAt: s(r['updated_at']),
      })),
    };
  }
}
