import { Router } from 'express';
import type { ImportFolder } from '../archive/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';

/** The import folder: counts and last scan; a scan now. Failed files are in its `error/` with the reason. */
export function importFolderRouter(folder: ImportFolder | undefined): Router {
  const router = Router();
  const need = (): ImportFolder => {
    if (folder === undefined) throw new GatewayError(ErrorCode.NotFound, 'no import folder is configured (archive.importFolder.path)');
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
