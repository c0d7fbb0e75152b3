import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import type { ArchiveRepository } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';

const listQuery = z
  .object({
    patientId: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a UID is digits separated by dots').max(64);

/** `/api/v1/studies`: received studies, newest first (filter by patient ID, page with limit/offset), and their series. */
export function studiesRouter(repository: ArchiveRepository): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const { studies, total } = repository.studies({ ...(q.patientId === undefined ? {} : { patientId: q.patientId }), limit: q.limit, offset: q.offset });
    res.json({ items: studies, total, limit: q.limit, offset: q.offset });
  });
  router.get('/:studyUid/series', (req, res) => {
    const studyUid = parseOrThrow(uid, req.params.studyUid, 'study UID');
    const series = repository.seriesOfStudy(studyUid);
    if (series === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such study');
    res.json({ items: series });
  });
  return router;
}

/** `/api/v1/instances/:sopUid`: the index row; `/file`: the stored Part 10 file as received. */
export function instancesRouter(deps: { repository: ArchiveRepository; archiveDir: string }): Router {
  const router = Router();
  const find = (raw: string) => {
    const instance = deps.repository.instance(parseOrThrow(uid, raw, 'SOP Instance UID'));
    if (instance === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such instance');
    return instance;
  };
  router.get('/:sopUid', (req, res) => {
    res.json(find(req.params.sopUid));
  });
  router.get('/:sopUid/file', (req, res, next) => {
    const instance = find(req.params.sopUid);
    const file = path.resolve(deps.archiveDir, instance.path);
    if (!file.startsWith(path.resolve(deps.archiveDir) + path.sep)) throw new GatewayError(ErrorCode.Internal, 'instance path outside the archive');
    const stream = createReadStream(file);
    stream.once('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else next((err as NodeJS.ErrnoException).code === 'ENOENT' ? new GatewayError(ErrorCode.NotFound, 'the instance file is missing') : err);
    });
    stream.once('open', () => {
      res.setHeader('content-type', 'application/dicom');
      res.setHeader('content-length', String(instance.size));
      res.setHeader('content-disposition', `attachment; filename="${instance.sopInstanceUid}.dcm"`);
      stream.pipe(res);
    });
  });
  return router;
}
