export { Database, type OpenOptions, type Row, type SqlValue } from './database.ts';
export { applyMigrations, MigrationError } from './migrate.ts';
export { migrations, type Migration } from './migrations/index.ts';
export { DeviceRepository } from './device-repository.ts';
export { cleanupWorklist, WorklistRepository, type WorklistSearch, type NewItem, type StepCandidateFilter } from './worklist-repository.ts';
export { MppsRepository, type MppsRecord } from './mpps-repository.ts';
export { AssociationRepository, type AssociationQuery, type CallingAeActivity, type StoredAssociation } from './association-repository.ts';
export { ArchiveRepository, type NewInstance, type StoredInstance, type StudySummary, type SeriesSummary } from './archive-repository.ts';
export { PatientRepository, type PatientSummary } from './patient-repository.ts';
