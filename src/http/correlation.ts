import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log.ts';

declare module 'express-serve-static-core' {
  interface Request {
    log: Logger;
    correlationId: string;
  }
}

/** Gives each request a correlation id (the caller's `X-Request-Id` if sane) and a logger that carries it. */
export function correlation(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    req.correlationId = id;
    req.log = log.child({ correlationId: id });
    res.set('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The path only: query strings may hold patient search terms.
      req.log.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'http request');
    });
    next();
  };
}
