import { Router } from 'express';
import { z } from 'zod';
import type { StorageCommitmentRepository } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';

const listQuery = z
  .object({
    transactionUid: z.string().min(1).max(64).optional(),
    callingAeTitle: z.string().min(1).max(16).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

const idParam = z.object({ id: z.coerce.number().int().positive() }).strict();

/** `/api/v1/storage-commitments`: requests (N-ACTION), newest first, and the state of their report. */
export function storageCommitmentsRouter(repository: StorageCommitmentRepository): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const { items, total } = repository.list({
      ...(q.transactionUid === undefined ? {} : { transactionUid: q.transactionUid }),
      ...(q.callingAeTitle === undefined ? {} : { callingAeTitle: q.callingAeTitle }),
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ items, total, limit: q.limit, offset: q.offset });
  });
  /** One request with the outcome per referenced instance (failureReason null: committed). */
  router.get('/:id', (req, res) => {
    const { id } = parseOrThrow(idParam, req.params, 'path');
    const commitment = repository.get(id);
    if (commitment === undefined) throw new GatewayError(ErrorCode.NotFound, `no storage commitment request ${id}`);
    res.json({ ...commitment, references: repository.results(id) });
  });
  return router;
}
