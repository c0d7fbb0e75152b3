import type { AssociationRecord } from '../domain/association.ts';

export { AssociationOutcome, type AssociationRecord } from '../domain/association.ts';

/** Where the listener puts its records; the SQLite repository in production, an array in tests. */
export interface AssociationSink {
  record(record: AssociationRecord): Promise<void>;
}
