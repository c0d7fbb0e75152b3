import { DeviceService, type Device } from '../domain/device.ts';
import { isUid, parseCommitmentRequest, type CommitmentRequest } from '../domain/storage-commitment.ts';
import { DimseStatus, Uid, uncompressedTransferSyntaxes } from './constants.ts';
import type { DicomElements, DimseService } from './services.ts';
import { DimseFailure } from './status.ts';

/** Action Type ID 1: Request Storage Commitment (PS3.4 J.3.2). */
const requestCommitmentAction = 1;

/** A request as recorded: the report to send, and where it is to go first. */
export interface RecordedCommitment {
  id: number;
  eventTypeId: number;
  dataset: DicomElements;
  /** `same-association`: the service sends the report on the request's association while it is open. */
  reportOn: 'same-association' | 'new-association';
}

/** What the Storage Commitment SCP needs of the archive (see `archive/storage-commitment.ts`). */
export interface CommitmentPort {
  /** Checks the references against the index and records the request; resolves once it is durable. */
  request(input: { request: CommitmentRequest; callingAeTitle: string; associationId: string; device: Device | undefined }): Promise<RecordedCommitment>;
  deliveredOnAssociation(id: number): Promise<void>;
  /** The report could not go on the association: hand it to a delivery on a new one (or record why not). */
  associationUnavailable(id: number, why: string): Promise<void>;
}

/** At most 64 characters for (0000,0902): the first problem, and how many more the log lists. */
function commentOf(messages: readonly string[]): string {
  const more = messages.length > 1 ? ` (+${messages.length - 1} more)` : '';
  const first = messages[0] ?? 'invalid request';
  return first.length + more.length <= 64 ? `${first}${more}` : `${first.slice(0, 63 - more.length)}…${more}`;
}

/**
 * Storage Commitment Push Model SOP class (SCP): N-ACTION answered once the request is recorded;
 * the N-EVENT-REPORT follows on the same association when the device wants it so and it is still
 * open, otherwise a job delivers it on a new association to the device's registered address.
 */
export function storageCommitmentService(port: CommitmentPort): DimseService {
  return {
    name: 'storage-commitment',
    deviceService: DeviceService.StorageCommitment,
    sopClasses: [Uid.StorageCommitmentPushModel],
    transferSyntaxes: uncompressedTransferSyntaxes,
    async nAction(ctx, action) {
      if (action.sopInstanceUid !== Uid.StorageCommitmentPushModelInstance) {
        // 0117: not a UID at all; 0112: a UID, but not the one instance of this SOP class.
        throw isUid(action.sopInstanceUid)
          ? new DimseFailure(DimseStatus.NoSuchObjectInstance, `no such instance: use ${Uid.StorageCommitmentPushModelInstance}`)
          : new DimseFailure(DimseStatus.InvalidObjectInstance, 'Requested SOP Instance UID is not a valid UID');
      }
      if (action.actionTypeId !== requestCommitmentAction) {
        throw new DimseFailure(DimseStatus.NoSuchAction, `no such action ${String(action.actionTypeId)}: only 1 is defined`);
      }
      const parsed = parseCommitmentRequest(action.dataset);
      if (!parsed.ok) {
        const messages = parsed.issues.map((i) => i.message);
        ctx.log.warn({ callingAeTitle: ctx.association.callingAeTitle, issues: parsed.issues }, 'storage commitment request refused');
        throw new DimseFailure(DimseStatus.InvalidArgumentValue, commentOf(messages), messages.join('; '));
      }
      const { association } = ctx;
      const recorded = await port.request({ request: parsed.request, callingAeTitle: association.callingAeTitle, associationId: association.id, device: association.device });
      ctx.log.info(
        { commitment: recorded.id, references: parsed.request.references.length, eventTypeId: recorded.eventTypeId, reportOn: recorded.reportOn },
        'storage commitment request recorded',
      );
      if (recorded.reportOn === 'new-association') return undefined;
      return async () => {
        try {
          let status: number | undefined;
          try {
            status = ctx.peer.isOpen()
              ? await ctx.peer.sendEventReport({ sopClassUid: Uid.StorageCommitmentPushModel, sopInstanceUid: Uid.StorageCommitmentPushModelInstance, eventTypeId: recorded.eventTypeId, dataset: recorded.dataset })
              : undefined;
          } catch (err) {
            ctx.log.error({ err, commitment: recorded.id }, 'could not send the storage commitment report on the association');
          }
          if (status === DimseStatus.Success) {
            await port.deliveredOnAssociation(recorded.id);
            ctx.log.info({ commitment: recorded.id }, 'storage commitment report delivered on the association');
            return;
          }
          const why = status === undefined ? 'the association ended before the report could be sent' : `the device answered the report with status 0x${status.toString(16).padStart(4, '0')}`;
          ctx.log.info({ commitment: recorded.id, why }, 'storage commitment report goes on a new association');
          await port.associationUnavailable(recorded.id, why);
        } catch (err) {
          // Recorded as awaiting the association: delivered on a new one at the next start.
          ctx.log.error({ err, commitment: recorded.id }, 'could not hand over the storage commitment report');
        }
      };
    },
  };
}
