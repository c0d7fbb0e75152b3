import type { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { instanceReceivedPayload, instanceReceivedType, type InstanceReceivedPayload } from '../archive/instance-received-job.ts';
import type { Clock } from '../clock.ts';
import type { DerivedFileRepository } from '../db/index.ts';
import { DerivedFileKind, type DerivedFile } from '../domain/derived-file.ts';
import { ErrorCode, isGatewayError } from '../domain/errors.ts';
import { PermanentJobError, type JobDefinition } from '../jobs/index.ts';
import type { Renderer, RenderResult } from './renderer.ts';

/** What the records capability gets of each rendered instance, in the transaction that records it. */
export type OnRendered = (tx: DatabaseSync, rendered: { instanceId: number; sopInstanceUid: string; derived: DerivedFile[]; skipped?: string }) => void;

const derivedFile = z
  .object({
    kind: z.enum(Object.values(DerivedFileKind) as [DerivedFileKind, ...DerivedFileKind[]]),
    path: z.string().regex(/^derived\/[^\0]+$/, 'a path under derived/').refine((p) => !p.split('/').includes('..'), 'no .. in the path'),
    mediaType: z.string().min(1).max(100),
    bytes: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    width: z.number().int().positive().nullable(),
    height: z.number().int().positive().nullable(),
    frames: z.number().int().positive().nullable(),
    fps: z.number().positive().nullable(),
  })
  .strict();
/** A result comes back through the queue (from another process with the Redis driver): checked again. */
const renderResult = z.object({ derived: z.array(derivedFile).max(16), skipped: z.string().max(500).optional() }).strict();

export interface RenderJobDeps {
  renderer: Renderer;
  /** Main process only: where results are recorded (a worker process has no database and never records). */
  repository?: DerivedFileRepository;
  onRendered?: OnRendered;
  clock: Clock;
}

/**
 * The `instance-received` job renders the instance: the job that the import records with every stored
 * instance does the rendering itself, rather than enqueueing a second job, so that an instance costs one
 * job and one ledger row; records, forwarding and the like follow from `onRendered` in the same
 * transaction that records the derived files.
 */
export function renderJob(deps: RenderJobDeps): JobDefinition<InstanceReceivedPayload, RenderResult> {
  return {
    type: instanceReceivedType,
    payload: instanceReceivedPayload,
    maxAttempts: 3,
    // The pool bounds the CPU work; more jobs than threads keep the threads fed, and their completions
    // come back together (see Renderer), sharing commits.
    concurrency: 8,
    handler: async (ctx) => {
      let result: RenderResult;
      try {
        result = await deps.renderer.render(ctx.payload.path);
      } catch (err) {
        // No ffmpeg: retrying cannot help until the admin installs it (the job can be retried then).
        if (isGatewayError(err) && err.code === ErrorCode.Unavailable && err.message.startsWith('ffmpeg')) throw new PermanentJobError(err.message, { cause: err });
        throw err;
      }
      ctx.log.info({ derived: result.derived.map((d) => d.kind), skipped: result.skipped }, result.skipped === undefined ? 'instance rendered' : 'instance not rendered');
      return result;
    },
    onCompleted: (tx, job, raw) => {
      const payload = instanceReceivedPayload.parse(job.payload);
      const result = renderResult.parse(raw);
      const { repository } = deps;
      if (repository === undefined) throw new Error('the render job records results only in the gateway process');
      // An instance replaced or removed while it was rendered has nothing to record.
      if (!repository.hasInstance(tx, payload.instanceId)) return;
      repository.record(tx, { instanceId: payload.instanceId, jobId: job.id, derived: result.derived, skipped: result.skipped, at: deps.clock.now().toISOString() });
      deps.onRendered?.(tx, { instanceId: payload.instanceId, sopInstanceUid: payload.sopInstanceUid, derived: result.derived, ...(result.skipped === undefined ? {} : { skipped: result.skipped }) });
    },
  };
}
