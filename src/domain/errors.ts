/**
 * One error type for the whole gateway. Each edge maps the code once:
 * HTTP status in `http/`, DICOM status in `dimse/`, retry-or-not in `jobs/`.
 */
export const ErrorCode = {
  /** Input that breaks a rule; `issues` names every field. */
  Invalid: 'invalid',
  NotFound: 'not_found',
  /** Input that cannot be decoded at all (not DICOM, truncated, broken encoding). */
  Unreadable: 'unreadable',
  /** The request contradicts the current state (duplicate key, read-only record). */
  Conflict: 'conflict',
  /** Understood and valid, but the object's state forbids it (e.g. changing a finished procedure step). */
  Refused: 'refused',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  /** A resource (disk, connections) is exhausted; trying later may succeed. */
  Unavailable: 'unavailable',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `dicom.port` or `devices[2].aeTitle`. */
  path: string;
  message: string;
  /** How to fix it, when we know. */
  hint?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];
  /** A short text without patient data that may go to the peer (e.g. a DICOM error comment). */
  readonly publicDetail: string | undefined;

  constructor(code: ErrorCode, message: string, options: { issues?: FieldIssue[]; cause?: unknown; publicDetail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.publicDetail = options.publicDetail;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
