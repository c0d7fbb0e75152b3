import { z } from 'zod';

/** The file name of the manifest part. */
export const manifestName = 'manifest.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** Names we give the DICOM parts: no patient data, no path. */
export const partNamePattern = /^IM[0-9]{6}\.dcm$/;

/** Names we give the PDF parts. */
export const documentNamePattern = /^DOC[0-9]{6}\.pdf$/;

const text = (max: number) => z.string().max(max).regex(/^[^\0-\x1f\\]*$/, 'no control characters or backslashes');

/**
 * The study a PDF belongs to, as the sender's archive has it: with it the receiver files the PDF as an
 * Encapsulated PDF instance of that study and patient, whatever mail of the set arrives first. Inside
 * the signed and encrypted part, like everything of the patient.
 */
export const documentContextSchema = z
  .object({
    patientName: text(320),
    patientId: text(64),
    issuerOfPatientId: text(64),
    patientBirthDate: z.string().regex(/^([0-9]{8})?$/),
    patientSex: z.enum(['', 'M', 'F', 'O']),
    studyInstanceUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64),
    studyDate: z.string().regex(/^([0-9]{8})?$/),
    studyTime: z.string().regex(/^([0-9]{2,6}(\.[0-9]{1,6})?)?$/),
    accessionNumber: text(16),
    studyId: text(16),
    referringPhysicianName: text(320),
    studyDescription: text(64),
  })
  .strict();
export type DocumentContext = z.infer<typeof documentContextSchema>;

/**
 * What a mail carries, inside the signed and encrypted part: each DICOM part's name, size and SHA-256,
 * so that the receiver knows the set is complete and unaltered; and which mail of a split send it is.
 */
export const manifestSchema = z
  .object({
    format: z.literal('dicom-gateway-mail/1'),
    /** Groups the mails of one send (a study split into several mails). */
    sendId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    part: z.number().int().min(1),
    parts: z.number().int().min(1),
    files: z
      .array(
        z
          .object({
            name: z.string().regex(partNamePattern, 'a part name is IM and six digits, .dcm'),
            size: z.number().int().min(0),
            sha256: sha256Hex,
          })
          .strict(),
      )
      .max(100_000),
    /** PDF documents sent with the study (application/pdf parts). */
    documents: z
      .array(
        z
          .object({
            name: z.string().regex(documentNamePattern, 'a document name is DOC and six digits, .pdf'),
            size: z.number().int().min(1),
            sha256: sha256Hex,
            title: text(200),
            study: documentContextSchema,
          })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict()
  .refine((m) => m.files.length + (m.documents?.length ?? 0) > 0, { message: 'a mail carries at least one file or document', path: ['files'] });
export type Manifest = z.infer<typeof manifestSchema>;

export function partName(index: number): string {
  return `IM${String(index + 1).padStart(6, '0')}.dcm`;
}

export function documentName(index: number): string {
  return `DOC${String(index + 1).padStart(6, '0')}.pdf`;
}
