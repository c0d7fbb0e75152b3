import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './problem.ts';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Bearer-token guard. With no token configured the API is closed, not open: a fresh install must
 * not hand patient data to anyone on the network.
 */
export function requireToken(token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req, res, next) => {
    if (expected === undefined) {
      sendProblem(res, 403, 'the API is disabled because no token is configured; set GATEWAY_API_TOKEN or http.apiToken and restart');
      return;
    }
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
      res.set('WWW-Authenticate', 'Bearer realm="dicom-gateway"');
      sendProblem(res, 401, match === null ? 'send the API token as "Authorization: Bearer <token>"' : 'the API token is wrong');
      return;
    }
    next();
  };
}
