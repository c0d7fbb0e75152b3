import { z } from 'zod';

/**
 * AE title (PS3.5 VR AE): 1-16 characters of the default repertoire without backslash or control
 * characters; leading and trailing spaces are not significant, so we store it trimmed.
 */
export const aeTitleSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, 'AE title must not be empty')
      .max(16, 'AE title is at most 16 characters')
      .regex(/^[\x20-\x5b\x5d-\x7e]*$/, 'AE title allows printable ASCII except backslash'),
  );
