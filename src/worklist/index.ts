export { WorklistService, type WorklistServiceDeps, type SaveOptions, type SaveOutcome } from './service.ts';
export { itemKeywords, itemResource, stepKeywords, dicomStepStatus } from './representation.ts';
