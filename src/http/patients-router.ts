import { Router } from 'express';
import { z } from 'zod';
import type { PatientRepository } from '../db/index.ts';
import { parseOrThrow } from '../domain/validation.ts';

const listQuery = z
  .object({
    patientId: z.string().min(1).max(64).optional(),
    /** The start of the family name, any case. */
    name: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/** `/api/v1/patients`: the patients the gateway knows, from orders and received studies. */
export function patientsRouter(patients: PatientRepository): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const { items, total } = patients.list({
      ...(q.patientId === undefined ? {} : { patientId: q.patientId }),
      ...(q.name === undefined ? {} : { name: q.name }),
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ items, total, limit: q.limit, offset: q.offset });
  });
  return router;
}
