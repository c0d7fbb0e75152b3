import { createReadStream, fstatSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { entryJson, type RecordsService } from '../records/index.ts';

const feedQuery = z
  .object({
    /** The `next` of the previous page; 0 (or none) from the start. */
    since: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

const inboxQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

const entryId = z.coerce.number().int().positive();
const attachmentNumber = z.coerce.number().int().positive();

const assignBody = z
  .object({
    patientId: z.string().trim().min(1).max(64),
    issuer: z.string().max(64).optional(),
    create: z.boolean().optional(),
  })
  .strict();

/**
 * `/api/v1/records`: the feed of record entries for the PVS (`?since=<cursor>`), each entry with its
 * attachments' download URLs; `/unassigned`: the inbox; `POST /{id}/assign`: file an entry.
 */
export function recordsRouter(records: RecordsService): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parseOrThrow(feedQuery, req.query, 'query');
    const { items, next } = records.feed(q.since, q.limit);
    res.json({ items: items.map(entryJson), next, more: items.length === q.limit });
  });
  router.get('/unassigned', (req, res) => {
    const q = parseOrThrow(inboxQuery, req.query, 'query');
    const { items, total } = records.inbox(q.limit, q.offset);
    res.json({ items: items.map(entryJson), total, limit: q.limit, offset: q.offset });
  });
  const find = (raw: string) => {
    const entry = records.entry(parseOrThrow(entryId, raw, 'record entry id'));
    if (entry === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such record entry');
    return entry;
  };
  router.get('/:id', (req, res) => {
    res.json(entryJson(find(req.params.id)));
  });
  router.post('/:id/assign', (req, res) => {
    const id = parseOrThrow(entryId, req.params.id, 'record entry id');
    const body = parseOrThrow(assignBody, req.body ?? {}, 'request body');
    res.json(entryJson(records.assign(id, body)));
  });
  router.get('/:id/attachments/:n', (req, res, next) => {
    const entry = find(req.params.id);
    const n = parseOrThrow(attachmentNumber, req.params.n, 'attachment number');
    const attachment = entry.attachments.find((a) => a.n === n);
    if (attachment === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such attachment');
    const stream = createReadStream(records.attachmentFile(attachment));
    stream.once('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else next((err as NodeJS.ErrnoException).code === 'ENOENT' ? new GatewayError(ErrorCode.NotFound, 'the attachment file is missing') : err);
    });
    stream.once('open', (fd) => {
      res.setHeader('content-type', attachment.mediaType);
      res.setHeader('content-length', String(fstatSync(fd).size));
      res.setHeader('content-disposition', `attachment; filename="${entry.id}-${n}${path.extname(attachment.path).replace(/[^.A-Za-z0-9]/g, '')}"`);
      stream.pipe(res);
    });
  });
  return router;
}
