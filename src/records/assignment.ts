import type { DatabaseSync } from 'node:sqlite';
import type { RecordsConfig } from '../config/records-schema.ts';
import type { IndexedInstance, RecordRepository, RegistryPatient } from '../db/index.ts';
import { compileSitePattern, extractPatientNumbers, isSamePerson, parseVnymd, type SitePattern } from '../domain/patient-number.ts';
import { PatientNumberAttribute, UnassignedReason } from '../domain/record-entry.ts';
import type { HeaderAttributes } from './header-attributes.ts';

export type Assignment =
  | { kind: 'patient'; ref: number; patientId: string; issuer: string; created: boolean }
  | { kind: 'unassigned'; reason: UnassignedReason };

export interface AssignmentSettings {
  mode: 'id' | 'vnymd';
  attribute: PatientNumberAttribute;
  pattern: SitePattern;
  vnymd: { pattern: SitePattern; order: string };
  createUnknown: boolean;
}

function compiled(source: string, groups: number): SitePattern {
  const check = compileSitePattern(source, groups);
  // The config schema has checked it; this is for settings built by hand (tests).
  if (!check.ok) throw new Error(`invalid pattern: ${check.message}`);
  return check.pattern;
}

export function assignmentSettings(config: RecordsConfig['assignment']): AssignmentSettings {
  return {
    mode: config.mode,
    attribute: config.attribute,
    pattern: compiled(config.pattern, 1),
    vnymd: { pattern: compiled(config.vnymd.pattern, 5), order: config.vnymd.order },
    createUnknown: config.createUnknown,
  };
}

/** The values of the configured attribute; an attribute may hold several (Other Patient IDs). */
export function attributeValues(attribute: PatientNumberAttribute, instance: IndexedInstance, header: HeaderAttributes): string[] {
  switch (attribute) {
    case PatientNumberAttribute.PatientID:
      return [instance.patientId];
    case PatientNumberAttribute.AccessionNumber:
      return [instance.accessionNumber];
    case PatientNumberAttribute.OtherPatientIDs:
      return header.otherPatientIds;
  }
}

const patientOf = (p: RegistryPatient, created: boolean): Assignment => ({ kind: 'patient', ref: p.ref, patientId: p.patientId, issuer: p.issuer, created });

/**
 * Finds the registry patient an instance belongs to. Only patients the PVS has told us of count
 * (`registered`): every received study creates a patient row of its own, which proves nothing.
 */
export class PatientAssigner {
  readonly #repository: RecordRepository;
  readonly #settings: AssignmentSettings;

  constructor(deps: { repository: RecordRepository; settings: AssignmentSettings }) {
    this.#repository = deps.repository;
    this.#settings = deps.settings;
  }

  resolve(tx: DatabaseSync, instance: IndexedInstance, header: HeaderAttributes, at: string): Assignment {
    const values = attributeValues(this.#settings.attribute, instance, header);
    return this.#settings.mode === 'vnymd' ? this.#byNameAndBirthDate(tx, values) : this.#byNumber(tx, values, instance, at);
  }

  #byNumber(tx: DatabaseSync, values: string[], instance: IndexedInstance, at: string): Assignment {
    const numbers = extractPatientNumbers(this.#settings.pattern, values);
    if (numbers.length === 0) return { kind: 'unassigned', reason: UnassignedReason.NoMatch };
    const rows = numbers.map((number) => this.#repository.patientsByNumber(tx, number));
    // Several numbers (Other Patient IDs may also hold an insurance number): the PVS knows one at most.
    const registered = rows.flat().filter((p) => p.registered);
    if (registered.length === 1) return patientOf(registered[0] as RegistryPatient, false);
    if (registered.length > 1 || numbers.length > 1) return { kind: 'unassigned', reason: UnassignedReason.SeveralPatients };
    if (!this.#settings.createUnknown) return { kind: 'unassigned', reason: UnassignedReason.UnknownPatient };
    const number = numbers[0] as string;
    const known = rows[0] ?? [];
    if (known.length > 1) return { kind: 'unassigned', reason: UnassignedReason.SeveralPatients };
    const row = known[0];
    if (row !== undefined) {
      // The import's own row for this number (the modality sent the bare number): the PVS gets it now.
      this.#repository.register(tx, row.ref, at);
      return patientOf(row, true);
    }
    const ref = this.#repository.createPatient(
      tx,
      { patientId: number, issuer: '', name: instance.patientName, birthDate: instance.birthDate, sex: instance.sex },
      at,
    );
    return { kind: 'patient', ref, patientId: number, issuer: '', created: true };
  }

  #byNameAndBirthDate(tx: DatabaseSync, values: string[]): Assignment {
    const { pattern, order } = this.#settings.vnymd;
    const wanted = values.map((v) => parseVnymd(pattern, order, v)).find((w) => w !== undefined);
    if (wanted === undefined) return { kind: 'unassigned', reason: UnassignedReason.NoMatch };
    const matches = this.#repository.registeredByBirthDate(tx, wanted).filter((p) => isSamePerson(wanted, p));
    if (matches.length === 1) return patientOf(matches[0] as RegistryPatient, false);
    return { kind: 'unassigned', reason: matches.length === 0 ? UnassignedReason.UnknownPatient : UnassignedReason.SeveralPatients };
  }
}
