import type { Clock } from './clock.ts';
import type { GatewayConfig } from './config/index.ts';
import type { AnyJobDefinition, ScheduleDefinition } from './jobs/index.ts';
import type { Logger } from './log.ts';
import { instanceReceivedJob } from './archive/instance-received-job.ts';
import { studyStableJob } from './archive/study-stable-job.ts';
import { recordsExportJob, recordsWebhookJob } from './records/index.ts';
import { storageCommitmentReportJob } from './archive/storage-commitment-job.ts';
import { sendEventReport } from './dimse/event-report-sender.ts';
import { worklistCleanupJob, worklistCleanupSchedule } from './worklist/cleanup-job.ts';

/** The job types of the gateway and their schedules; capabilities add theirs here. */
export interface JobCatalog {
  definitions: AnyJobDefinition[];
  schedules: ScheduleDefinition[];
}

/**
 * Wiring, like `app.ts`: the same catalog serves the gateway and `dicom-gateway worker`, so that both
 * know every type's payload schema. Import, rendering, mail and backups register their processors
 * here as they arrive (e.g. `records/attach-job.ts`).
 */
export function jobCatalog(deps: { config: GatewayConfig; log: Logger; clock: Clock }): JobCatalog {
  return {
    definitions: [
      worklistCleanupJob({ clock: deps.clock, timeZone: deps.config.gateway.timezone, cleanup: deps.config.worklist.cleanup }),
      instanceReceivedJob(),
      studyStableJob(),
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
