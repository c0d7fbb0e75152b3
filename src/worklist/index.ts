export { WorklistService, type WorklistServiceDeps, type SaveOptions, type SaveOutcome } from './service.ts';
export { itemKeywords, itemResource, stepKeywords, dicomStepStatus } from './representation.ts';
export { WorklistFolder, type FolderReport, type FolderFileError, type WorklistFolderDeps } from './folder-import.ts';
export { MppsService, type MppsServiceDeps } from './mpps-service.ts';
export { WorklistQuery, TooManyMatches, type WorklistAnswer, type WorklistAsker, type WorklistQueryDeps } from './query.ts';
export { studyOrderLinker, type ReceivedStudy } from './study-link.ts';
