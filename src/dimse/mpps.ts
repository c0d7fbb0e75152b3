import { DeviceService } from '../domain/device.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { MppsOutcome } from '../domain/mpps.ts';
import type { MppsService } from '../worklist/index.ts';
import { DimseStatus, Uid, uncompressedTransferSyntaxes } from './constants.ts';
import type { DimseService } from './services.ts';
import { DimseFailure } from './status.ts';

/** The refusals of PS3.4 F.7 as our errors; status.ts turns them into 0111, 0112, 0110, 0106; a missing required attribute is 0120 (PS3.7 C.4.1). */
function raise(outcome: MppsOutcome): void {
  switch (outcome.kind) {
    case 'created':
    case 'updated':
      return;
    case 'duplicate':
      throw new GatewayError(ErrorCode.Conflict, 'an MPPS with this SOP Instance UID exists', { publicDetail: 'duplicate SOP instance' });
    case 'unknown':
      throw new GatewayError(ErrorCode.NotFound, 'no MPPS with this SOP Instance UID', { publicDetail: 'no such MPPS instance' });
    case 'final':
      throw new GatewayError(ErrorCode.Refused, `the MPPS is ${outcome.status} and cannot change any more`, { publicDetail: `MPPS is ${outcome.status}: no more changes` });
    case 'invalid':
      if (outcome.missing) throw new DimseFailure(DimseStatus.MissingAttribute, outcome.message);
      throw new GatewayError(ErrorCode.Invalid, outcome.message, { issues: [{ path: outcome.element, message: outcome.message }], publicDetail: outcome.message.slice(0, 64) });
  }
}

/** Modality Performed Procedure Step SOP class (SCP): N-CREATE and N-SET. */
export function mppsService(mpps: MppsService): DimseService {
  return {
    name: 'mpps',
    deviceService: DeviceService.Mpps,
    sopClasses: [Uid.ModalityPerformedProcedureStep],
    transferSyntaxes: uncompressedTransferSyntaxes,
    async nCreate(ctx, sopInstanceUid, dataset) {
      if (sopInstanceUid === '' || sopInstanceUid === undefined) {
        throw new GatewayError(ErrorCode.Invalid, 'N-CREATE without Affected SOP Instance UID', { publicDetail: 'Affected SOP Instance UID is required' });
      }
      raise(await mpps.create(sopInstanceUid, dataset, ctx.association.callingAeTitle));
    },
    async nSet(_ctx, sopInstanceUid, changes) {
      raise(await mpps.set(sopInstanceUid, changes));
    },
  };
}
