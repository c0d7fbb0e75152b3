import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { markCommitmentDelivered, ReportOn } from '../db/storage-commitment-repository.ts';
import { aeTitleSchema } from '../domain/ae-title.ts';
import type { ReportTarget } from '../domain/storage-commitment.ts';
import { PermanentJobError, type BackoffPolicy, type JobDefinition } from '../jobs/index.ts';

export const storageCommitmentReportType = 'storage-commitment-report';

/** Where report files live, relative to the data directory; the name is a random UUID. */
export const reportFilePattern = /^commitments\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

const payload = z
  .object({
    commitmentId: z.number().int().positive(),
    reportFile: z.string().regex(reportFilePattern),
    calledAeTitle: aeTitleSchema,
    callingAeTitle: aeTitleSchema,
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    /** The device speaks DICOM over TLS (its registry entry). */
    tls: z.boolean(),
  })
  .strict();
export type StorageCommitmentReportPayload = z.infer<typeof payload>;

/** The report as written when the request was recorded: what the N-EVENT-REPORT carries. */
export const reportFileSchema = z
  .object({
    sopClassUid: z.string(),
    sopInstanceUid: z.string(),
    eventTypeId: z.union([z.literal(1), z.literal(2)]),
    dataset: z.record(z.string(), z.unknown()),
  })
  .strict();
export type ReportFile = z.infer<typeof reportFileSchema>;

async function readTlsFiles(files: StorageCommitmentJobDeps['tlsFiles']): Promise<NonNullable<ReportTarget['tls']>> {
  const read = async (file: string | undefined): Promise<Buffer | undefined> => (file === undefined ? undefined : readFile(file));
  return { cert: await read(files.cert), key: await read(files.key), ca: await read(files.ca) };
}

export interface StorageCommitmentJobDeps {
  dataDir: string;
  clock: Clock;
  attempts: number;
  backoff: BackoffPolicy;
  timeoutMs: number;
  /** PEM files (`dicom.tls`): our certificate and key for devices that speak TLS, and the CA that signs theirs. */
  tlsFiles: { cert?: string | undefined; key?: string | undefined; ca?: string | undefined };
  /** Sends the report on a new association; resolves with the device's status (see `dimse/event-report-sender.ts`). */
  send(target: ReportTarget, report: ReportFile): Promise<number>;
}

/**
 * Delivers a storage commitment report on a new association to the device's registered address.
 * A device that is off or busy is tried again with backoff; one that refuses us for good, or answers
 * with a failure status, fails the job (the API shows why; `POST /api/v1/jobs/:id/retry` sends again).
 * The worker reads the report from its file (workers do not open the database); the main process
 * records the delivery when the job completes.
 */
export function storageCommitmentReportJob(deps: StorageCommitmentJobDeps): JobDefinition<StorageCommitmentReportPayload, { status: number }> {
  return {
    type: storageCommitmentReportType,
    payload,
    maxAttempts: deps.attempts,
    backoff: deps.backoff,
    concurrency: 2,
    async handler(ctx) {
      const { payload: p } = ctx;
      const report = reportFileSchema.parse(JSON.parse(await readFile(path.join(deps.dataDir, p.reportFile), 'utf8')));
      const status = await deps.send(
        { host: p.host, port: p.port, calledAeTitle: p.calledAeTitle, callingAeTitle: p.callingAeTitle, timeoutMs: deps.timeoutMs, tls: p.tls ? await readTlsFiles(deps.tlsFiles) : undefined },
        report,
      );
      if (status !== 0) throw new PermanentJobError(`${p.calledAeTitle} answered the storage commitment report with status 0x${status.toString(16).padStart(4, '0')}`);
      ctx.log.info({ commitment: p.commitmentId, calledAeTitle: p.calledAeTitle }, 'storage commitment report delivered on a new association');
      return { status };
    },
    onCompleted(tx, job) {
      const { commitmentId } = job.payload as StorageCommitmentReportPayload;
      markCommitmentDelivered(tx, commitmentId, ReportOn.NewAssociation, deps.clock.now().toISOString());
    },
  };
}
