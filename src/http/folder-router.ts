import { Router } from 'express';
import { ErrorCode, GatewayError } from '../domain/errors.ts';

/** A watched folder as the API sees it. */
export interface WatchedFolder<R> {
  report(): R;
  scan(): Promise<R>;
}

/** `GET /`: what the folder's last passes found; `POST /scan`: a pass now. 404 when it is not configured. */
export function folderRouter<R>(folder: WatchedFolder<R> | undefined, notConfigured: string): Router {
  const router = Router();
  const need = (): WatchedFolder<R> => {
    if (folder === undefined) throw new GatewayError(ErrorCode.NotFound, notConfigured);
    return folder;
  };
  router.get('/', (_req, res) => {
    res.json(need().report());
  });
  router.post('/scan', async (_req, res) => {
    res.json(await need().scan());
  });
  return router;
}
