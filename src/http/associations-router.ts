import { Router } from 'express';
import { z } from 'zod';
import type { AssociationRepository } from '../db/index.ts';
import { parseOrThrow } from '../domain/validation.ts';
import type { ConnectedClientsReport } from '../devices/index.ts';

const querySchema = z
  .object({
    callingAeTitle: z.string().trim().min(1).max(16).optional(),
    outcome: z.enum(['released', 'rejected', 'aborted-by-peer', 'aborted', 'dropped', 'closed']).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

export interface AssociationsRouterDeps {
  associations: AssociationRepository;
  connectedClients(): ConnectedClientsReport;
}

/** `GET /` lists recorded associations, newest first; `GET /devices` is the connected-clients view. */
export function associationsRouter(deps: AssociationsRouterDeps): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parseOrThrow(querySchema, req.query, 'query');
    const toIso = (s: string | undefined): string | undefined => (s === undefined ? undefined : new Date(s).toISOString());
    const { items, total } = deps.associations.list({ ...q, since: toIso(q.since), until: toIso(q.until) });
    res.json({ items, total, limit: q.limit, offset: q.offset });
  });
  router.get('/devices', (_req, res) => {
    res.json(deps.connectedClients());
  });
  return router;
}
