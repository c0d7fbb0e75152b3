import { ErrorCode, isGatewayError } from '../domain/errors.ts';
import { DimseStatus } from './constants.ts';

/** The kind of DIMSE operation whose response carries the status: failure codes differ by service. */
export const OperationKind = { Echo: 'echo', Find: 'find', Store: 'store', Normalized: 'normalized' } as const;
export type OperationKind = (typeof OperationKind)[keyof typeof OperationKind];

export interface StatusOutcome {
  status: number;
  /** (0000,0902): at most 64 characters, never patient data; we send the error code only. */
  errorComment: string | undefined;
}

const composite: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: DimseStatus.IdentifierDoesNotMatchSopClass,
  [ErrorCode.NotFound]: DimseStatus.UnableToProcess,
  [ErrorCode.Conflict]: DimseStatus.UnableToProcess,
  [ErrorCode.Unauthorized]: DimseStatus.NotAuthorized,
  [ErrorCode.Forbidden]: DimseStatus.NotAuthorized,
  [ErrorCode.Unavailable]: DimseStatus.OutOfResources,
  [ErrorCode.Internal]: DimseStatus.UnableToProcess,
};

const normalized: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: DimseStatus.InvalidAttributeValue,
  [ErrorCode.NotFound]: DimseStatus.NoSuchObjectInstance,
  [ErrorCode.Conflict]: DimseStatus.DuplicateSopInstance,
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
  return { status, errorComment: code };
}

export function isFailure(status: number): boolean {
  return status !== DimseStatus.Success && status !== DimseStatus.Pending && status !== 0xff01 && status !== DimseStatus.Cancel && (status & 0xf000) !== 0xb000;
}
