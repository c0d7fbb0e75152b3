export {
  JobState,
  JobErrorKind,
  jobStates,
  type AnyJobDefinition,
  type BackoffPolicy,
  type EnqueueRequest,
  type EnqueueResult,
  type JobContext,
  type JobDefinition,
  type JobFilter,
  type JobPage,
  type JobQueue,
  type JobRecord,
  type ScheduleDefinition,
  type ScheduleRecord,
} from './port.ts';
export { TransientJobError, PermanentJobError, classifyJobError } from './errors.ts';
export { backoffDelay, defaultBackoff } from './backoff.ts';
export { nextCronTime } from './schedule.ts';
export { SqliteJobQueue } from './sqlite-queue.ts';
export { BullmqJobQueue, type BullmqQueueDeps } from './bullmq-queue.ts';
export { BullmqWorkerHost, type WorkerHostOptions } from './worker-process.ts';
export type { QueueDeps } from './base-queue.ts';
