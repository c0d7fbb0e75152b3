import express, { type Express, type Router } from 'express';
import type { DeviceRegistry } from '../devices/index.ts';
import type { HealthRegistry } from '../health.ts';
import type { Logger } from '../log.ts';
import { requireToken } from './auth.ts';
import { correlation } from './correlation.ts';
import { devicesRouter } from './devices-router.ts';
import { healthRouter } from './health-router.ts';
import { problemHandler, sendProblem } from './problem.ts';

export interface HttpAppDeps {
  log: Logger;
  health: HealthRegistry;
  devices: DeviceRegistry;
  apiToken: string | undefined;
  version: string;
  /** Routers of later capabilities, mounted under `/api/v1/<path>`. */
  routers?: Record<string, Router>;
  /** JSON body limits above the default 5 MB, by route under `/api/v1` (e.g. a send request carrying PDFs). */
  jsonLimits?: Record<string, string>;
}

export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(correlation(deps.log));
  app.use(healthRouter(deps.health, deps.version));

  const api = express.Router();
  api.use(requireToken(deps.apiToken));
  const json = ['application/json', 'application/*+json'];
  // A body parsed by a route's own parser is not parsed again by the general one.
  for (const [route, limit] of Object.entries(deps.jsonLimits ?? {})) api.use(route, express.json({ limit, type: json }));
  api.use(express.json({ limit: '5mb', type: json }));
  api.use('/devices', devicesRouter(deps.devices));
  for (const [path, router] of Object.entries(deps.routers ?? {})) api.use(`/${path}`, router);
  app.use('/api/v1', api);

  app.use((req, res) => {
    sendProblem(res, 404, `no route for ${req.method} ${req.path}`);
  });
  app.use(problemHandler(deps.log));
  return app;
}
