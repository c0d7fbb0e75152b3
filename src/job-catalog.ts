import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from './clock.ts';
import type { GatewayConfig } from './config/index.ts';
import { dataLayout } from './data-dir.ts';
import type { DerivedFileRepository } from './db/index.ts';
import type { AnyJobDefinition, ScheduleDefinition } from './jobs/index.ts';
import type { Logger } from './log.ts';
import { studyStableJob } from './archive/study-stable-job.ts';
import { recordsExportJob, recordsWebhookJob } from './records/index.ts';
import { storageCommitmentReportJob } from './archive/storage-commitment-job.ts';
import { sendEventReport } from './dimse/event-report-sender.ts';
import { Renderer, renderJob, type OnRendered } from './rendering/index.ts';
import { worklistCleanupJob, worklistCleanupSchedule } from './worklist/cleanup-job.ts';

/** The job types of the gateway and their schedules; capabilities add theirs here. */
export interface JobCatalog {
  definitions: AnyJobDefinition[];
  schedules: ScheduleDefinition[];
}

export interface JobCatalogDeps {
  config: GatewayConfig;
  log: Logger;
  clock: Clock;
  /** The render pool; one is made from the config when not given (it starts threads only when used). */
  renderer?: Renderer;
  /** Gateway process only: where rendered files are recorded, and what follows in that transaction. */
  rendered?: { repository: DerivedFileRepository; onRendered?: OnRendered };
  /** Gateway process only: what follows a study's completion in its transaction (the mail relay's routing). */
  afterStudyStable?: (tx: DatabaseSync, studyInstanceUid: string) => void;
}

/**
 * Wiring, like `app.ts`: the same catalog serves the gateway and `dicom-gateway worker`, so that both
 * know every type's payload schema. Import, rendering, mail and backups register their processors
 * here as they arrive (e.g. `records/attach-job.ts`).
 */
export function jobCatalog(deps: JobCatalogDeps): JobCatalog {
  const renderer = deps.renderer ?? new Renderer({ config: deps.config.rendering, layout: dataLayout(deps.config.dataDir), log: deps.log.child({ component: 'rendering' }) });
  return {
    definitions: [
      worklistCleanupJob({ clock: deps.clock, timeZone: deps.config.gateway.timezone, cleanup: deps.config.worklist.cleanup }),
      renderJob({ renderer, clock: deps.clock, ...(deps.rendered ?? {}) }),
      studyStableJob(deps.afterStudyStable === undefined ? {} : { afterStable: deps.afterStudyStable }),
      recordsExportJob({ export: deps.config.records.export, dataDir: deps.config.dataDir }),
      recordsWebhookJob({ webhook: deps.config.records.webhook, clock: deps.clock }),
      storageCommitmentReportJob({
        dataDir: deps.config.dataDir,
        clock: deps.clock,
        attempts: deps.config.archive.storageCommitment.attempts,
        backoff: { baseMs: deps.config.archive.storageCommitment.retryBaseSeconds * 1000, maxMs: deps.config.archive.storageCommitment.retryMaxSeconds * 1000 },
        timeoutMs: deps.config.archive.storageCommitment.timeoutSeconds * 1000,
        tlsFiles: { cert: deps.config.dicom.tls.cert, key: deps.config.dicom.tls.key, ca: deps.config.dicom.tls.ca },
        send: sendEventReport,
      }),
    ],
    schedules: [worklistCleanupSchedule(deps.config.worklist.cleanup.hour)],
  };
}
