import { z } from 'zod';

/** The file name of the manifest part. */
export const manifestName = 'manifest.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** Names we give the DICOM parts: no patient data, no path. */
export const partNamePattern = /^IM[0-9]{6}\.dcm$/;

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
      .min(1)
      .max(100_000),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

export function partName(index: number): string {
  return `IM${String(index + 1).padStart(6, '0')}.dcm`;
}
