import type { Migration } from './index.ts';

/** PDF documents sent with a study (a report, a referral): they travel in the first mail of the send. */
export const mailDocuments: Migration = {
  version: 12,
  name: 'mail-documents',
  sql: `
    -- JSON array of {name, title, file, size, sha256}: file is relative to the relay's directory, kept until the mail is sent.
    ALTER TABLE mail_outbound ADD COLUMN documents TEXT NOT NULL DEFAULT '[]';
  `,
};
