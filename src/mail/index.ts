export { MailRelay, type MailRelayDeps } from './relay.ts';
export { mailRouteType, mailSendType } from './job-types.ts';
export { buildMessage, estimateMailSize, type BuildRequest, type OutgoingFile } from './message-builder.ts';
export { readMessage, readMailHeaders, type ReadOutcome } from './message-reader.ts';
export { cmsCertificate, type CmsCertificate } from './certificate.ts';
export type { CertificateExpiry } from './expiry.ts';
export type { SmtpOutcome } from './smtp.ts';
export { attachmentsSchema, decodeAttachments, maxDocumentsTotalBytes } from './documents.ts';
