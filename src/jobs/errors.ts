import { ErrorCode, isGatewayError } from '../domain/errors.ts';
import { JobErrorKind } from './port.ts';

/** Thrown by a handler: try again later (with backoff) until the attempts run out. */
export class TransientJobError extends Error {
  override name = 'TransientJobError';
}

/** Thrown by a handler: trying again cannot help; the job fails at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** Node system error codes that say the world may look better later. */
const transientSystemCodes = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EIO', 'ENETUNREACH', 'EHOSTUNREACH']);
/** ... and ones that say it will not. */
const permanentSystemCodes = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'EINVAL']);

/**
 * The one place that decides retry-or-not for an error thrown by a job. GatewayError codes map by
 * meaning; a payload that fails its schema is permanent; unknown errors are transient (bounded by the
 * job's attempts), since a bug and a hiccup look alike from here.
 */
export function classifyJobError(err: unknown): typeof JobErrorKind.Transient | typeof JobErrorKind.Permanent {
  if (err instanceof PermanentJobError) return JobErrorKind.Permanent;
  if (err instanceof TransientJobError) return JobErrorKind.Transient;
  if (isGatewayError(err)) {
    switch (err.code) {
      case ErrorCode.Unavailable:
      case ErrorCode.Internal:
        return JobErrorKind.Transient;
      case ErrorCode.Invalid:
      case ErrorCode.Unreadable:
      case ErrorCode.NotFound:
      case ErrorCode.Conflict:
      case ErrorCode.Unauthorized:
      case ErrorCode.Forbidden:
        return JobErrorKind.Permanent;
    }
  }
  if (err instanceof Error && err.name === 'ZodError') return JobErrorKind.Permanent;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (permanentSystemCodes.has(code)) return JobErrorKind.Permanent;
    if (transientSystemCodes.has(code)) return JobErrorKind.Transient;
  }
  return JobErrorKind.Transient;
}

/** A short reason for the failed-jobs list; no stack traces, no payloads. */
export function errorReason(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
