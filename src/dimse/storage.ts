import { DeviceService } from '../domain/device.ts';
import type { DimseService, IncomingStore, RequestContext } from './services.ts';

/** A temp file being received (see `archive/incoming-file.ts`). */
export interface ReceivingFile {
  write(chunk: Buffer): boolean;
  onDrain(listener: () => void): void;
  discard(): Promise<void>;
}

/** What the Storage SCP needs of the archive. */
export interface StoragePort<F extends ReceivingFile> {
  begin(request: StoreCommand): F;
  complete(file: F, request: StoreCommand): Promise<unknown>;
  /** False while the archive refuses new work (disk below its minimum). */
  hasRoom(): Promise<boolean>;
}

export interface StoreCommand {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  callingAeTitle: string;
  associationId: string;
}

/** Storage SCP: the storage SOP classes; each C-STORE streams into the archive. */
export function storageService<F extends ReceivingFile>(deps: { sopClasses: readonly string[]; transferSyntaxes: readonly string[]; archive: StoragePort<F> }): DimseService {
  return {
    name: 'storage',
    deviceService: DeviceService.Store,
    sopClasses: deps.sopClasses,
    transferSyntaxes: deps.transferSyntaxes,
    openStore(ctx: RequestContext, sopInstanceUid: string): IncomingStore {
      const command: StoreCommand = {
        sopClassUid: ctx.sopClassUid,
        sopInstanceUid,
        transferSyntaxUid: ctx.transferSyntax,
        callingAeTitle: ctx.association.callingAeTitle,
        associationId: ctx.association.id,
      };
      const file = deps.archive.begin(command);
      return {
        write: (chunk) => file.write(chunk),
        onDrain: (listener) => file.onDrain(listener),
        discard: () => file.discard(),
        complete: async () => {
          await deps.archive.complete(file, command);
        },
      };
    },
    async refuseAssociation() {
      return (await deps.archive.hasRoom()) ? undefined : 'the archive is below its minimum free disk space';
    },
  };
}
