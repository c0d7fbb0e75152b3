export { ArchiveStore, DuplicatePolicy, type ArchiveStoreDeps, type StoreOutcome, type StoreRequest } from './archive-store.ts';
export { DiskGuard } from './disk-guard.ts';
export { IncomingFile } from './incoming-file.ts';
export { instanceReceivedPayload, instanceReceivedType, type InstanceReceivedPayload } from './instance-received-job.ts';
export { storageSopClasses, storageTransferSyntaxes } from './sop-classes.ts';
export { part10Header } from './part10-header.ts';
export { ImportFolder, type ImportReport } from './import-folder.ts';
export { StudyStability } from './study-stability.ts';
export { studyStableJob, studyStableType, type StudyStablePayload } from './study-stable-job.ts';
