import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Router, type NextFunction, type Response } from 'express';
import { z } from 'zod';
import type { ArchiveRepository, DerivedFileRepository } from '../db/index.ts';
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

/** Streams a file of the data directory; a missing file is a 404, a path outside the directory a 500. */
function sendFile(res: Response, next: NextFunction, root: string, relative: string, headers: { type: string; size: number; filename: string }, missing: string): void {
  const file = path.resolve(root, relative);
  if (!file.startsWith(path.resolve(root) + path.sep)) throw new GatewayError(ErrorCode.Internal, 'file path outside its directory');
  const stream = createReadStream(file);
  stream.once('error', (err) => {
    if (res.headersSent) res.destroy(err);
    else next((err as NodeJS.ErrnoException).code === 'ENOENT' ? new GatewayError(ErrorCode.NotFound, missing) : err);
  });
  stream.once('open', () => {
    res.setHeader('content-type', headers.type);
    res.setHeader('content-length', String(headers.size));
    res.setHeader('content-disposition', `attachment; filename="${headers.filename}"`);
    stream.pipe(res);
  });
}

const extensions: Record<string, string> = { 'image/jpeg': 'jpg', 'video/mp4': 'mp4', 'application/pdf': 'pdf' };
const derivedId = z.coerce.number().int().positive();

/**
 * `/api/v1/instances/:sopUid`: the index row; `/file`: the stored Part 10 file as received;
 * `/derived`: what rendering made of it; `/derived/:id/file`: one of those files.
 */
export function instancesRouter(deps: { repository: ArchiveRepository; archiveDir: string; derived?: { repository: DerivedFileRepository; dataDir: string } }): Router {
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
    sendFile(res, next, deps.archiveDir, instance.path, { type: 'application/dicom', size: instance.size, filename: `${instance.sopInstanceUid}.dcm` }, 'the instance file is missing');
  });
  const { derived } = deps;
  if (derived === undefined) return router;
  router.get('/:sopUid/derived', (req, res) => {
    const instance = find(req.params.sopUid);
    const rendition = derived.repository.forInstance(instance.sopInstanceUid);
    const base = `${req.baseUrl}/${instance.sopInstanceUid}/derived`;
    res.json({
      sopInstanceUid: instance.sopInstanceUid,
      renderedAt: rendition?.renderedAt ?? null,
      skipped: rendition?.skipped ?? null,
      items: (rendition?.files ?? []).map((f) => ({ ...f, href: `${base}/${f.id}/file` })),
    });
  });
  router.get('/:sopUid/derived/:id/file', (req, res, next) => {
    const instance = find(req.params.sopUid);
    const id = parseOrThrow(derivedId, req.params.id, 'derived file id');
    const file = derived.repository.forInstance(instance.sopInstanceUid)?.files.find((f) => f.id === id);
    if (file === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such derived file of this instance');
    const suffix = file.kind === 'poster' ? '.poster' : '';
    sendFile(res, next, derived.dataDir, file.path, { type: file.mediaType, size: file.bytes, filename: `${instance.sopInstanceUid}${suffix}.${extensions[file.mediaType] ?? 'bin'}` }, 'the derived file is missing');
  });
  return router;
}
