import { z } from 'zod';
import { aeTitleSchema } from '../domain/ae-title.ts';
import { deviceSchema } from '../domain/device.ts';
import { recordsSchema } from './records-schema.ts';

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A port to listen on; 0 lets the system pick a free one (tests, benchmarks). */
const listenPortSchema = z.number().int('port must be a whole number').min(0).max(65535);

const hostTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const tlsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** PEM files. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    requireClientCert: z.boolean().default(false),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if (!tls.enabled) return;
    for (const field of ['cert', 'key'] as const) {
      if (tls[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `TLS is enabled but ${field} is missing`, input: tls });
      }
    }
    if (tls.requireClientCert && tls.ca === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: 'requireClientCert needs the CA that signs client certificates', input: tls });
    }
  });

/** Transfer syntax UIDs; dots and digits only. */
const uidSchema = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a UID is digits separated by dots').max(64);

/** An e-mail address as the relay needs it: local@domain, nothing else. */
const mailAddressSchema = z.string().regex(/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/, 'an e-mail address such as site@example.org').max(254);
const pemFileSchema = z.string().min(1, 'a path to a PEM file');

/** One of our mailboxes: where we send from and collect our mail, and our S/MIME identity. */
export const mailboxSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only'),
    address: mailAddressSchema,
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(587),
        /** starttls (ports 25, 587) or tls (implicit TLS, port 465, RFC 8314); never plain text. */
        security: z.enum(['starttls', 'tls']).default('starttls'),
      })
      .strict(),
    pop3: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(995),
        user: z.string().min(1),
        password: z.string().min(1),
      })
      .strict(),
    /** Our TLS client certificate and key for both servers, and the CA that verifies the servers. */
    tls: z.object({ cert: pemFileSchema, key: pemFileSchema, ca: pemFileSchema }).strict(),
    /** Our S/MIME certificate and key: we sign with them and partners encrypt to them. */
    smime: z.object({ cert: pemFileSchema, key: pemFileSchema }).strict(),
    /**
     * Our OpenPGP key pair for partners with `format: openpgp`: an armored private key protected by a
     * passphrase (the passphrase may be sealed, enc:v1:).
     */
    openpgp: z.object({ key: z.string().min(1, 'a path to an armored OpenPGP private key'), passphrase: z.string().min(1) }).strict().optional(),
    pollSeconds: z.number().min(1).max(86_400).default(60),
  })
  .strict();

const mailSchema = z
  .object({
    mailboxes: z.array(mailboxSchema).default([]),
    /** A received mail larger than this is not downloaded (it stays on the server, reported); nor may one open (decompress) to more. */
    maxInboundMb: z.number().int().min(1).max(100_000).default(2048),
    /** Parts of one received mail (DICOM files plus the manifest) at most. */
    maxParts: z.number().int().min(2).max(100_000).default(20_000),
    /** Certificates (ours, partners', the servers') expiring within this many days are warned about. */
    expiryWarningDays: z.number().int().min(1).max(365).default(30),
    /** A received message/partial set (RFC 2046) not whole within this time expires: nothing of it is imported. */
    partialTimeoutHours: z.number().min(0.01).max(24 * 30).default(24),
    /** A received set (a send split into several mails) still missing mails after this time is flagged (API, log, /healthz). */
    setTimeoutHours: z.number().min(0.01).max(24 * 30).default(24),
    /** A mail we sent that no receipt acknowledged within this time is flagged (API, /healthz). */
    receiptTimeoutHours: z.number().min(0.01).max(24 * 30).default(24),
    /** Outgoing mails that fail with a 4xx answer are tried this many times in all. */
    sendAttempts: z.number().int().min(1).max(100).default(10),
    /** After importing a partner's mail, send a signed receipt (an MDN, RFC 8098) back; receipts that come back mark our mails acknowledged. */
    sendReceipts: z.boolean().default(true),
  })
  .strict()
  .superRefine((mail, ctx) => {
    const names = new Set<string>();
    (Array.isArray(mail.mailboxes) ? mail.mailboxes : []).forEach((m, i) => {
      if (typeof m?.name !== 'string') return;
      if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['mailboxes', i, 'name'], message: `mailbox name "${m.name}" is used twice`, input: m.name });
      names.add(m.name);
    });
  });

export const configSchema = z
  .object({
    /** Every piece of state lives here: database, archive, derived files, logs, backups. */
    dataDir: z.string().min(1).default('./data'),
    /** The key that opens sealed values (`enc:v1:...`) of this file; default `<dataDir>/secret.key`. */
    secretKeyFile: z.string().min(1).optional(),
    gateway: z
      .object({
        aeTitle: aeTitleSchema.default('DICOM_GATEWAY'),
        /** Further called AE titles we answer to. */
        aliases: z.array(aeTitleSchema).default([]),
        timezone: z.string().refine(isTimeZone, 'unknown time zone').default(hostTimeZone),
        uidRoot: z
          .string()
          .regex(/^[0-9]+(\.[0-9]+)*$/, 'a UID root is digits separated by dots')
          .max(40, 'leave room for the generated suffix: at most 40 characters')
          .default('2.25'),
      })
      .strict()
      .prefault({}),
    dicom: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: listenPortSchema.default(11112),
        /** Refuse calling AE titles that are not in the device registry. Open by default for a first install. */
        strictDevices: z.boolean().default(false),
        maxAssociations: z.number().int().min(1).max(10_000).default(50),
        maxAssociationsPerDevice: z.number().int().min(1).max(10_000).default(10),
        /** The maximum PDU length we announce and accept from peers, in bytes. */
        maxPduLength: z.number().int().min(4096).max(16 * 1024 * 1024).default(1024 * 1024),
        timeouts: z
          .object({
            artimSeconds: z.number().positive().default(30),
            idleSeconds: z.number().positive().default(300),
            associationSeconds: z.number().positive().default(3600),
          })
          .strict()
          .prefault({}),
        tls: tlsSchema.prefault({}),
        /** Preferred transfer syntaxes, best first; the others the gateway supports follow in its own order. */
        transferSyntaxPreference: z.array(uidSchema).default([]),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: listenPortSchema.default(8080),
        /** Bearer token of the API. Without one the API refuses every request. */
        apiToken: z.string().min(16, 'use a token of at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
      })
      .strict()
      .prefault({}),
    devices: z.array(deviceSchema).default([]),
    worklist: z
      .object({
        /** A folder of `.wl` files (Part 10 or bare datasets) to import, as wlmscpfs reads them; subfolders named after one of our AE titles hold that AE title's worklist. */
        folder: z.string().min(1).optional(),
        /** How often the folder is scanned for new, changed and removed files. */
        pollSeconds: z.number().min(0.5).max(3600).default(5),
        /** Offer steps already in progress too (a device may need to resume one). */
        offerInProgress: z.boolean().default(false),
        /** A query with more matches gets the first ones and ends with A700 "too many matches". */
        maxResults: z.number().int().min(1).max(100_000).default(1000),
        /** A step still scheduled goes to in progress when images of its study arrive (for devices that send no MPPS). */
        stepFollowsImages: z.boolean().default(true),
        /** fuzzy: person names match case- and accent-insensitively (MULLER*, MUELLER*, müller* all find Müller); exact: as PS3.4 says for other VRs. */
        personNameMatching: z.enum(['fuzzy', 'exact']).default('fuzzy'),
        cleanup: z
          .object({
            /** Hour of the day (site time zone) of the daily cleanup. */
            hour: z.number().int().min(0).max(23).default(3),
            /** Steps whose date has passed by this many days are removed, whatever their status. */
            pastDays: z.number().int().min(0).max(3650).default(7),
            /** Completed, discontinued and cancelled steps are removed after this many days. */
            finishedDays: z.number().int().min(0).max(3650).default(2),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    archive: z
      .object({
        /** A second copy of a SOP Instance UID: keep-first answers Success and keeps the first file (the copy is counted); overwrite replaces it. */
        duplicates: z.enum(['keep-first', 'overwrite']).default('keep-first'),
        /** Below this much free space on the archive's disk, storage associations are refused and stores under way answered A700. */
        minFreeMb: z.number().int().min(0).max(10_000_000).default(1024),
        sopClasses: z
          .object({
            /** Storage SOP classes to accept; empty: all the gateway knows. May name others (e.g. a vendor's private class). */
            allow: z.array(uidSchema).default([]),
            /** Storage SOP classes to refuse (their presentation contexts are rejected). */
            deny: z.array(uidSchema).default([]),
          })
          .strict()
          .prefault({}),
        /** A study counts as complete after this long without a new instance; that starts its per-study work. */
        studyQuietSeconds: z.number().min(1).max(86_400).default(60),
        /** Delivery of storage commitment reports on a new association (a job per report). */
        storageCommitment: z
          .object({
            /** Attempts in all before the job fails (a device that is off is tried again with backoff). */
            attempts: z.number().int().min(1).max(1000).default(48),
            /** Wait before the second attempt; doubles with each further one up to retryMaxSeconds. */
            retryBaseSeconds: z.number().min(0.1).max(86_400).default(30),
            retryMaxSeconds: z.number().min(1).max(7 * 86_400).default(3600),
            /** The longest one delivery may take, from connect to release. */
            timeoutSeconds: z.number().min(1).max(600).default(30),
          })
          .strict()
          .prefault({}),
        /** A folder whose DICOM Part 10 files are imported like received instances. */
        importFolder: z
          .object({
            path: z.string().min(1).optional(),
            pollSeconds: z.number().min(0.5).max(3600).default(5),
            /** move: imported files go to `processed/` in the folder; delete: they are removed. */
            afterImport: z.enum(['move', 'delete']).default('move'),
            /** A file is taken only when it has not changed for this long (it may still be being copied). */
            settleSeconds: z.number().min(0).max(3600).default(2),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    rendering: z
      .object({
        /** JPEG quality of images and posters, 1 to 100. */
        jpegQuality: z.number().int().min(1).max(100).default(90),
        /** Images larger than this on their longest side are scaled down (pixels). */
        maxSize: z.number().int().min(16).max(65_535).default(2048),
        /** Window center/width by modality, for images that carry neither a window nor a VOI LUT (else min/max). */
        windowPresets: z
          .record(z.string().regex(/^[A-Z0-9]{1,16}$/, 'a modality code such as CT'), z.object({ center: z.number(), width: z.number().positive() }).strict())
          .default({}),
        /** The ffmpeg program: a name on the PATH or a full path. */
        ffmpegPath: z.string().min(1).default('ffmpeg'),
        /** Frame rate of a cine whose tags give none. */
        defaultFps: z.number().min(1).max(120).default(25),
        /** libx264 preset and constant rate factor of the MP4s made from frames. */
        videoPreset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow']).default('veryfast'),
        videoCrf: z.number().int().min(0).max(51).default(23),
        /** Render threads; 0: one per core. */
        workerThreads: z.number().int().min(0).max(64).default(0),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        driver: z.enum(['sqlite', 'redis']).default('sqlite'),
        redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'redisUrl must be a URL such as redis://localhost:6379').optional(),
        /** Parallel jobs per job type, e.g. `{ render: 2 }`. */
        concurrency: z.record(z.string(), z.number().int().min(1).max(64)).default({}),
        /** Redis driver: BullMQ key prefix, the same for the gateway and its `dicom-gateway worker` processes. */
        prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only').default('dicom-gateway'),
        /**
         * Redis driver: whether the gateway process runs workers too. Set false when `dicom-gateway worker`
         * processes do all the work. (The embedded driver always runs its workers in the gateway.)
         */
        runWorkers: z.boolean().default(true),
        /** Finished jobs stay listed in `/api/v1/jobs` this long. */
        keepCompletedDays: z.number().int().min(1).max(3650).default(7),
        keepFailedDays: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({})
      .superRefine((q, ctx) => {
        if (q.driver === 'redis' && q.redisUrl === undefined) {
          ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'queue.driver is redis but redisUrl is missing', input: q });
        }
      }),
    mail: mailSchema.prefault({}),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        /** Rotate the log file when it reaches this size. */
        maxFileMb: z.number().positive().max(1024).default(20),
        /** Log files are rotated daily and kept this many days. */
        keepDays: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({}),
    /** Patient records: how rendered files are filed under PVS patients and delivered to the PVS. */
    records: recordsSchema,
    shutdown: z
      .object({
        /** How long running work may take to finish on SIGTERM before we stop anyway. */
        timeoutSeconds: z.number().positive().max(3600).default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  // Runs even when other fields are invalid (so that every problem is reported at once); it therefore
  // reads the values defensively.
  .superRefine(
    (config, ctx) => {
      const devices: unknown[] = Array.isArray(config.devices) ? config.devices : [];
      const titleOf = (d: unknown): string | undefined => {
        const t = (d as { aeTitle?: unknown } | null)?.aeTitle;
        return typeof t === 'string' ? t.trim() : undefined;
      };
      const gateway = config.gateway as Partial<GatewayConfig['gateway']> | undefined;
      const ours = [gateway?.aeTitle, ...(Array.isArray(gateway?.aliases) ? gateway.aliases : [])].filter((t) => typeof t === 'string');
      const seen = new Map<string, number>();
      devices.forEach((device, i) => {
        const title = titleOf(device);
        if (title === undefined) return;
        const first = seen.get(title);
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'aeTitle'], message: `AE title "${title}" is already used by devices[${first}]`, input: title });
        } else if (ours.includes(title)) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'aeTitle'], message: `"${title}" is the gateway's own AE title`, input: title });
        }
        seen.set(title, first ?? i);
      });
    },
    { when: () => true },
  );

export type GatewayConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
