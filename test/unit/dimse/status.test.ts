import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DimseStatus } from '../../../src/dimse/constants.ts';
import { OperationKind, statusForError } from '../../../src/dimse/status.ts';
import { ErrorCode, GatewayError } from '../../../src/domain/errors.ts';

describe('GatewayError to DICOM status', () => {
  test('maps our codes per kind of operation', () => {
    assert.equal(statusForError(new GatewayError(ErrorCode.Invalid, 'x'), OperationKind.Find).status, DimseStatus.IdentifierDoesNotMatchSopClass);
    assert.equal(statusForError(new GatewayError(ErrorCode.Unavailable, 'x'), OperationKind.Store).status, DimseStatus.OutOfResources);
    assert.equal(statusForError(new GatewayError(ErrorCode.NotFound, 'x'), OperationKind.Normalized).status, DimseStatus.NoSuchObjectInstance);
    assert.equal(statusForError(new GatewayError(ErrorCode.Forbidden, 'x'), OperationKind.Echo).status, DimseStatus.NotAuthorized);
    assert.equal(statusForError(new GatewayError(ErrorCode.Invalid, 'x'), OperationKind.Store).status, DimseStatus.IdentifierDoesNotMatchSopClass);
    assert.equal(statusForError(new GatewayError(ErrorCode.Unreadable, 'x'), OperationKind.Store).status, DimseStatus.UnableToProcess);
  });

  test('foreign errors are failures whose comment carries only the code, never the message', () => {
    const outcome = statusForError(new Error('Mustermann^Erika not found'), OperationKind.Find);
    assert.equal(outcome.status, DimseStatus.UnableToProcess);
    assert.equal(outcome.errorComment, 'internal');
    assert.equal(statusForError(new Error('x'), OperationKind.Echo).status, DimseStatus.ProcessingFailure);
  });
});
