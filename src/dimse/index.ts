export { DicomListener, type DicomListenerDeps, type DeviceLookup, type ListenerConfig } from './listener.ts';
export { AssociationOutcome, type AssociationRecord, type AssociationSink } from './association-log.ts';
export { verificationService } from './echo.ts';
export { worklistFindService } from './worklist-find.ts';
export { mppsService } from './mpps.ts';
export { storageService, type StoragePort, type StoreCommand, type ReceivingFile } from './storage.ts';
export { EncodedDataset, ServiceRegistry, type AssociationContext, type DicomElements, type DimseService, type RequestContext } from './services.ts';
export { statusForError, OperationKind } from './status.ts';
export { DimseStatus, TransferSyntaxUid, Uid } from './constants.ts';
