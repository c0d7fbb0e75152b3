import type { ErrorRequestHandler, Response } from 'express';
import { ErrorCode, isGatewayError, type FieldIssue } from '../domain/errors.ts';
import type { Logger } from '../log.ts';

/** RFC 9457 problem document; `errors` names every invalid field. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldIssue[];
}

const statusOf: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: 400,
  [ErrorCode.Unreadable]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Refused]: 409,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
};

const titleOf: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  500: 'Internal error',
  503: 'Service unavailable',
};

export function sendProblem(res: Response, status: number, detail: string, errors?: FieldIssue[]): void {
  const problem: Problem = {
    type: 'about:blank',
    title: titleOf[status] ?? 'Error',
    status,
    detail,
    instance: res.req.originalUrl,
    ...(errors !== undefined && errors.length > 0 ? { errors } : {}),
  };
  res.status(status).type('application/problem+json').send(JSON.stringify(problem));
}

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message: string;
}

/** The one place where errors become HTTP responses. Unexpected errors are logged, never echoed. */
export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (isGatewayError(err)) {
      sendProblem(res, statusOf[err.code], err.message, err.issues);
      return;
    }
    const httpErr = err as HttpLikeError;
    const status = httpErr.status ?? httpErr.statusCode;
    // body-parser errors (bad JSON, too large) carry a status and a safe message.
    if (status !== undefined && status >= 400 && status < 500 && httpErr.expose !== false) {
      const detail = httpErr.type === 'entity.parse.failed' ? 'the request body is not valid JSON' : httpErr.message;
      sendProblem(res, status, detail);
      return;
    }
    (req.log ?? log).error({ err }, 'request failed');
    sendProblem(res, 500, 'an internal error occurred; the gateway log has the details (search for the correlation id)');
  };
}
