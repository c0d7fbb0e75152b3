export { assignmentSettings, PatientAssigner, type Assignment, type AssignmentSettings } from './assignment.ts';
export { RecordsService, type AssignTarget, type FilingOutcome, type RecordsServiceDeps, type RenderedInstance } from './records-service.ts';
export { recordsExportJob, recordsExportType, exportTempDir, type RecordsExportPayload } from './export-job.ts';
export { recordsWebhookJob, recordsWebhookType, RecordEvent, type RecordsWebhookPayload } from './webhook-job.ts';
export { WebhookHeader, webhookSignature, isValidWebhookSignature } from './webhook-signature.ts';
export { entryJson, type EntryJson, type AttachmentJson } from './representation.ts';
export { readHeaderAttributes, type HeaderAttributes } from './header-attributes.ts';
