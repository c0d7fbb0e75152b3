import { ErrorCode, isGatewayError } from '../domain/errors.ts';
import { DimseStatus } from './constants.ts';

/** The kind of DIMSE operation whose response carries the status: failure codes differ by service. */
export const OperationKind = { Echo: 'echo', Find: 'find', Store: 'store', Normalized: 'normalized' } as const;
export type OperationKind = (typeof OperationKind)[keyof typeof OperationKind];

export interface StatusOutcome {
  status: number;
  /** (0000,0902): at most 64 characters, never patient data: the error code or the error's public detail. */
  errorComment: string | undefined;
  /** (0000,0901): the elements of the request that were wrong, as 8-hex-digit tags. */
  offendingElements: string[];
}

/**
 * A refusal whose DICOM status is fixed by the service's own section of PS3.4 (e.g. N-ACTION of
 * Storage Commitment: 0123 no such action, 0115 invalid argument value), not derived from an error code.
 * `comment` goes to the peer: at most 64 characters, no patient data.
 */
export class DimseFailure extends Error {
  override name = 'DimseFailure';
  readonly status: number;
  readonly comment: string;
  constructor(status: number, comment: string, detail: string = comment) {
    super(detail);
    this.status = status;
    this.comment = comment.slice(0, 64);
  }
}

/** Issue paths that name an element, `(0040,0002)`, as tags. */
function offendingElementsOf(err: unknown): string[] {
  if (!isGatewayError(err)) return [];
  const tags: string[] = [];
  for (const issue of err.issues) {
    const m = /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(issue.path);
    const tag = m === null ? undefined : `${m[1]}${m[2]}`.toUpperCase();
    if (tag !== undefined && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

const composite: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: DimseStatus.IdentifierDoesNotMatchSopClass,
  [ErrorCode.Unreadable]: DimseStatus.UnableToProcess,
  [ErrorCode.NotFound]: DimseStatus.UnableToProcess,
  [ErrorCode.Conflict]: DimseStatus.UnableToProcess,
  [ErrorCode.Refused]: DimseStatus.UnableToProcess,
  [ErrorCode.Unauthorized]: DimseStatus.NotAuthorized,
  [ErrorCode.Forbidden]: DimseStatus.NotAuthorized,
  [ErrorCode.Unavailable]: DimseStatus.OutOfResources,
  [ErrorCode.Internal]: DimseStatus.UnableToProcess,
};

const normalized: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: DimseStatus.InvalidAttributeValue,
  [ErrorCode.Unreadable]: DimseStatus.ProcessingFailure,
  [ErrorCode.NotFound]: DimseStatus.NoSuchObjectInstance,
  [ErrorCode.Conflict]: DimseStatus.DuplicateSopInstance,
  [ErrorCode.Refused]: DimseStatus.ProcessingFailure,
  [ErrorCode.Unauthorized]: DimseStatus.NotAuthorized,
  [ErrorCode.Forbidden]: DimseStatus.NotAuthorized,
  [ErrorCode.Unavailable]: DimseStatus.ResourceLimitation,
  [ErrorCode.Internal]: DimseStatus.ProcessingFailure,
};

/**
 * The one place where errors become DICOM status codes. Errors that are not ours are internal
 * failures; their message stays in our log, never in the response.
 */
export function statusForError(err: unknown, kind: OperationKind): StatusOutcome {
  if (err instanceof DimseFailure) return { status: err.status, errorComment: err.comment, offendingElements: [] };
  const code = isGatewayError(err) ? err.code : ErrorCode.Internal;
  let status: number;
  switch (kind) {
    case OperationKind.Echo:
      // C-ECHO knows no failure codes of its own (PS3.7 9.1.5.1.4).
      status = code === ErrorCode.Unauthorized || code === ErrorCode.Forbidden ? DimseStatus.NotAuthorized : DimseStatus.ProcessingFailure;
      break;
    case OperationKind.Normalized:
      status = normalized[code];
      break;
    default:
      status = composite[code];
  }
  const detail = isGatewayError(err) ? err.publicDetail : undefined;
  return { status, errorComment: (detail ?? code).slice(0, 64), offendingElements: offendingElementsOf(err) };
}

export function isFailure(status: number): boolean {
  return status !== DimseStatus.Success && status !== DimseStatus.Pending && status !== 0xff01 && status !== DimseStatus.Cancel && (status & 0xf000) !== 0xb000;
}
