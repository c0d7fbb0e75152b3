import { DeviceService } from '../../src/domain/device.ts';
import { TransferSyntaxUid, Uid, type DicomElements, type DimseService, type RequestContext } from '../../src/dimse/index.ts';

export interface FakeWorklistOptions {
  answers: DicomElements[];
  /** After this many answers, wait for the C-CANCEL (the request's signal) before going on. */
  waitForCancelAfter?: number;
  /** Called when a query arrives; the answers wait for `gate` if given. */
  onQuery?: (ctx: RequestContext, identifier: DicomElements) => void;
  gate?: Promise<void>;
  /** Throw this after the answers. */
  failWith?: unknown;
}

/** A stand-in Modality Worklist C-FIND service, to drive the listener's C-FIND path. */
export function fakeWorklist(options: FakeWorklistOptions): DimseService & { queries: DicomElements[] } {
  const queries: DicomElements[] = [];
  return {
    name: 'worklist',
    deviceService: DeviceService.Worklist,
    sopClasses: [Uid.ModalityWorklistFind],
    transferSyntaxes: [TransferSyntaxUid.ExplicitVrLittleEndian, TransferSyntaxUid.ImplicitVrLittleEndian, TransferSyntaxUid.ExplicitVrBigEndian],
    queries,
    async *find(ctx, identifier) {
      queries.push(identifier);
      options.onQuery?.(ctx, identifier);
      if (options.gate !== undefined) await options.gate;
      let sent = 0;
      for (const answer of options.answers) {
        if (options.waitForCancelAfter !== undefined && sent === options.waitForCancelAfter && !ctx.signal.aborted) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        }
        yield answer;
        sent++;
      }
      if (options.failWith !== undefined) throw options.failWith;
    },
  };
}
