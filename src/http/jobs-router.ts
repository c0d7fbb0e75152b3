import { Router } from 'express';
import { z } from 'zod';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { jobStates, type JobQueue } from '../jobs/index.ts';

const listQuery = z
  .object({
    state: z.enum(jobStates as [string, ...string[]]).optional(),
    type: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();

const idParam = z.coerce.number().int().min(1);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new GatewayError(ErrorCode.Invalid, `invalid ${what}`, {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.') || what, message: i.message })),
    });
  }
  return parsed.data;
}

/**
 * `/api/v1/jobs`: the jobs (filter by state and type, page with `before`), the retry action for failed
 * ones, and the repeatable schedules (list, run now, cancel = pause, resume).
 */
export function jobsRouter(queue: JobQueue): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    const page = queue.list({
      ...(q.state === undefined ? {} : { state: q.state as never }),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.before === undefined ? {} : { before: q.before }),
    });
    res.json(page);
  });
  router.get('/schedules', (_req, res) => {
    res.json({ items: queue.schedules() });
  });
  router.post('/schedules/:name/run', (req, res) => {
    const result = queue.runSchedule(req.params.name);
    res.status(202).location(`${req.baseUrl}/${result.id}`).json(result);
  });
  router.post('/schedules/:name/resume', (req, res) => {
    res.json(queue.resumeSchedule(req.params.name));
  });
  router.delete('/schedules/:name', (req, res) => {
    // Cancels future runs; the schedule stays listed as paused (the code that defines it would
    // otherwise bring it back at the next start) and can be resumed.
    res.json(queue.pauseSchedule(req.params.name));
  });
  router.get('/:id', (req, res) => {
    const id = parse(idParam, req.params.id, 'id');
    const job = queue.get(id);
    if (job === undefined) throw new GatewayError(ErrorCode.NotFound, `job ${id} does not exist`);
    res.json(job);
  });
  router.post('/:id/retry', (req, res) => {
    const id = parse(idParam, req.params.id, 'id');
    res.status(202).json(queue.retry(id));
  });
  return router;
}
