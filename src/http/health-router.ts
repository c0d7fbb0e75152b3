import { Router } from 'express';
import type { HealthRegistry } from '../health.ts';

/** Unauthenticated, for load balancers and Docker's HEALTHCHECK; says nothing about patients. */
export function healthRouter(health: HealthRegistry, version: string): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const report = health.report();
    res.status(report.status === 'ok' ? 200 : 503).json({ ...report, version });
  });
  return router;
}
