import { z } from 'zod';
import { compileSitePattern, isVnymdOrder } from '../domain/patient-number.ts';
import { derivedFileKinds } from '../domain/derived-file.ts';
import { patientNumberAttributes } from '../domain/record-entry.ts';
import { exportNamePlaceholders } from '../domain/export-name.ts';

const typeCode = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'a type code is 1 to 16 letters, digits, _ or -');

/** Checks a site pattern where it is configured, so that a bad one is named with its path. */
function sitePattern(groups: number) {
  return z
    .string()
    .min(1)
    .max(1000)
    .superRefine((source, ctx) => {
      const check = compileSitePattern(source, groups);
      if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message, input: source, params: { hint: check.hint } });
    });
}

export const recordsSchema = z
  .object({
    /** The type codes the PVS files entries under, each with the title its entries get. */
    types: z.record(typeCode, z.string().min(1).max(64)).default({ BILD: 'Bild', DOK: 'Dokument', BEF: 'Befund' }),
    /** Which type code each kind of derived file is filed under; `none`: not filed. */
    kinds: z
      .object({
        image: typeCode.default('BILD'),
        video: typeCode.default('BILD'),
        /** The still of a video; the video itself is usually enough. */
        poster: typeCode.default('none'),
        document: typeCode.default('DOK'),
      })
      .strict()
      .prefault({}),
    assignment: z
      .object({
        /** id: a patient number read by `pattern`; vnymd: first name, surname and birth date read by `vnymd.pattern`. */
        mode: z.enum(['id', 'vnymd']).default('id'),
        /** The attribute the pattern reads. */
        attribute: z.enum(patientNumberAttributes).default('PatientID'),
        /** RE2 syntax, exactly one capture group: the PVS patient number. */
        pattern: sitePattern(1).default('([0-9]+)'),
        vnymd: z
          .object({
            /** RE2 syntax, five capture groups in the order `order` names. */
            pattern: sitePattern(5).default('^([^_]+)_([^_]+)_([0-9]{4})([0-9]{2})([0-9]{2})$'),
            /** V first name (Vorname), N surname (Nachname), Y year, M month, D day: the order of the groups. */
            order: z.string().refine(isVnymdOrder, 'name each of V, N, Y, M, D once, e.g. VNYMD').default('VNYMD'),
          })
          .strict()
          .prefault({}),
        /** id mode: a number the PVS has not told us of creates the patient instead of waiting in the inbox. */
        createUnknown: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    export: z
      .object({
        /** A folder the PVS imports from: one file per attachment, written atomically. */
        folder: z.string().min(1).optional(),
        /** Placeholders: {patientId} {date} {type} {n} {entryId} {ext}; values are reduced to letters, digits, - and _. */
        fileName: z
          .string()
          .min(1)
          .max(200)
          .refine((s) => !/[/\\]/.test(s) && !s.startsWith('.'), 'a file name, without / or \\, not starting with .')
          .refine((s) => s.includes('{n}'), 'include {n} (the attachment number), or names of one entry collide')
          .refine((s) => [...s.matchAll(/\{([^}]*)\}/g)].every((m) => (exportNamePlaceholders as readonly string[]).includes(m[1] ?? '')), `known placeholders: ${exportNamePlaceholders.map((p) => `{${p}}`).join(' ')}`)
          .default('{patientId}_{date}_{type}_{n}.{ext}'),
        /** Attempts in all; a missing folder (unmounted share) is tried again after retrySeconds, doubling up to maxRetrySeconds. */
        maxAttempts: z.number().int().min(1).max(100).default(20),
        retrySeconds: z.number().min(0.05).max(3600).default(5),
        maxRetrySeconds: z.number().min(0.05).max(86_400).default(900),
      })
      .strict()
      .prefault({}),
    webhook: z
      .object({
        /** Receives an HMAC-signed POST for each new or changed entry. */
        url: z.string().regex(/^https?:\/\/\S+$/, 'a URL such as https://pvs.example/hooks/records').optional(),
        /** The HMAC-SHA256 key (share it with the receiver). */
        secret: z.string().min(16, 'use a secret of at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
        timeoutSeconds: z.number().positive().max(300).default(10),
        /** Attempts in all; between them the wait doubles from retrySeconds up to maxRetrySeconds. */
        maxAttempts: z.number().int().min(1).max(100).default(12),
        retrySeconds: z.number().min(0.05).max(3600).default(30),
        maxRetrySeconds: z.number().min(0.05).max(86_400).default(3600),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
  // Runs even when other fields are invalid, so that every problem is reported at once; reads defensively.
  .superRefine(
    (records, ctx) => {
    const types: unknown = records.types;
    const codes = typeof types === 'object' && types !== null ? Object.keys(types) : [];
    for (const kind of derivedFileKinds) {
      const code = records.kinds?.[kind];
      if (typeof code === 'string' && code !== 'none' && !codes.includes(code)) {
        ctx.addIssue({ code: 'custom', path: ['kinds', kind], message: `"${code}" is not one of records.types`, input: code, params: { hint: `use one of: ${[...codes, 'none'].join(', ')}` } });
      }
    }
    if (records.webhook?.url !== undefined && records.webhook.secret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['webhook', 'secret'], message: 'a webhook needs a secret to sign its requests', input: records.webhook });
    }
    },
    { when: () => true },
  );

export type RecordsConfig = z.output<typeof recordsSchema>;
