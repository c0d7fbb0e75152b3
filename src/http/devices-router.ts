import { Router } from 'express';
import type { DeviceRegistry } from '../devices/index.ts';

export function devicesRouter(registry: DeviceRegistry): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({ items: registry.list() });
  });
  router.get('/:aeTitle', (req, res) => {
    res.json(registry.get(req.params.aeTitle));
  });
  router.post('/', (req, res) => {
    const device = registry.create(req.body);
    res.status(201).location(`${req.baseUrl}/${encodeURIComponent(device.aeTitle)}`).json(device);
  });
  router.put('/:aeTitle', (req, res) => {
    res.json(registry.update(req.params.aeTitle, req.body));
  });
  router.delete('/:aeTitle', (req, res) => {
    registry.delete(req.params.aeTitle);
    res.status(204).end();
  });
  return router;
}
