import { Router, type Request } from 'express';
import { z } from 'zod';
import { parseDateInput } from '../domain/date-input.ts';
import { stepStatuses } from '../domain/worklist-item.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { fromDicomJsonModel } from '../dicom/index.ts';
import { itemResource, type WorklistService } from '../worklist/index.ts';

function searchSchema(timeZone: string) {
  const date = z.string().transform((s, ctx) => {
    const d = parseDateInput(s, timeZone);
    if (!d.ok) {
      ctx.addIssue({ code: 'custom', message: d.message, input: s });
      return z.NEVER;
    }
    return d.date;
  });
  return z
    .object({
      dateFrom: date.optional(),
      dateTo: date.optional(),
      modality: z.string().min(1).max(16).optional(),
      stationAeTitle: z.string().min(1).max(16).optional(),
      status: z
        .string()
        .transform((s) => s.split(',').map((x) => x.trim()))
        .pipe(z.array(z.enum(stepStatuses)))
        .optional(),
      patientId: z.string().min(1).max(64).optional(),
      accessionNumber: z.string().min(1).max(16).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    })
    .strict();
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  return key === undefined || key.trim() === '' ? undefined : key.trim().slice(0, 200);
}

export function worklistRouter(worklist: WorklistService, timeZone: string): Router {
  const router = Router();
  const schema = searchSchema(timeZone);

  router.get('/', (req, res) => {
    const q = parseOrThrow(schema, req.query, 'search');
    const { items, total } = worklist.search({
      ...(q.dateFrom === undefined ? {} : { dateFrom: q.dateFrom }),
      ...(q.dateTo === undefined ? {} : { dateTo: q.dateTo }),
      ...(q.modality === undefined ? {} : { modality: q.modality }),
      ...(q.stationAeTitle === undefined ? {} : { stationAeTitle: q.stationAeTitle }),
      ...(q.status === undefined ? {} : { statuses: q.status }),
      ...(q.patientId === undefined ? {} : { patientId: q.patientId }),
      ...(q.accessionNumber === undefined ? {} : { accessionNumber: q.accessionNumber }),
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ items: items.map(itemResource), total, limit: q.limit, offset: q.offset });
  });

  router.post('/', async (req, res) => {
    const body = fromDicomJsonModel(req.body);
    const key = idempotencyKey(req);
    const { item, created } = key === undefined ? await worklist.save(body) : await worklist.saveIdempotent(key, body);
    res.status(created ? 201 : 200).location(`${req.baseUrl}/${item.id}`).json(itemResource(item));
  });

  router.post('/cleanup', async (_req, res) => {
    const removed = await worklist.cleanup();
    res.json({ removedSteps: removed.steps, removedItems: removed.items });
  });

  router.get('/:id', (req, res) => {
    res.json(itemResource(worklist.get(req.params.id)));
  });

  router.put('/:id', async (req, res) => {
    res.json(itemResource(await worklist.update(req.params.id, fromDicomJsonModel(req.body))));
  });

  router.post('/:id/cancel', async (req, res) => {
    res.json(itemResource(await worklist.cancel(req.params.id)));
  });

  router.delete('/:id', async (req, res) => {
    await worklist.delete(req.params.id);
    res.status(204).end();
  });
  return router;
}
