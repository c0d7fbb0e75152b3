import { StorageCommitmentUid } from '../domain/storage-commitment.ts';

/**
 * DICOM codes the listener speaks, from the standard (PS3.7, PS3.8) rather than from the DIMSE
 * library, so that policy and negotiation stay plain code.
 */

export const Uid = {
  ApplicationContext: '1.2.840.10008.3.1.1.1',
  Verification: '1.2.840.10008.1.1',
  ModalityWorklistFind: '1.2.840.10008.5.1.4.31',
  ModalityPerformedProcedureStep: '1.2.840.10008.3.1.2.3.3',
  StorageCommitmentPushModel: StorageCommitmentUid.sopClass,
  /** The one (well-known) instance of the Storage Commitment Push Model SOP class. */
  StorageCommitmentPushModelInstance: StorageCommitmentUid.instance,
} as const;

export const TransferSyntaxUid = {
  ImplicitVrLittleEndian: '1.2.840.10008.1.2',
  ExplicitVrLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVrLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVrBigEndian: '1.2.840.10008.1.2.2',
} as const;

/** The uncompressed syntaxes every service of ours reads and writes, best first. */
export const uncompressedTransferSyntaxes: readonly string[] = [
  TransferSyntaxUid.ExplicitVrLittleEndian,
  TransferSyntaxUid.ImplicitVrLittleEndian,
  TransferSyntaxUid.ExplicitVrBigEndian,
];

/** A-ASSOCIATE-RJ (PS3.8 9.3.4). */
export const RejectResult = { Permanent: 1, Transient: 2 } as const;
export const RejectSource = { ServiceUser: 1, ServiceProviderAcse: 2, ServiceProviderPresentation: 3 } as const;
/** Reasons depend on the source; these names say which source they belong to. */
export const RejectReason = {
  UserNoReason: 1,
  UserApplicationContextNotSupported: 2,
  UserCallingAeNotRecognized: 3,
  UserCalledAeNotRecognized: 7,
  AcseNoReason: 1,
  AcseProtocolVersionNotSupported: 2,
  PresentationTemporaryCongestion: 1,
  PresentationLocalLimitExceeded: 2,
} as const;

/** A-ABORT (PS3.8 9.3.8). */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

/** Presentation context results (PS3.8 9.3.3.2). */
export const ContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

/** DIMSE status codes (PS3.7 Annex C) that we send. */
export const DimseStatus = {
  Success: 0x0000,
  Pending: 0xff00,
  Cancel: 0xfe00,
  NotAuthorized: 0x0124,
  SopClassNotSupported: 0x0122,
  UnrecognizedOperation: 0x0211,
  ProcessingFailure: 0x0110,
  InvalidAttributeValue: 0x0106,
  NoSuchObjectInstance: 0x0112,
  InvalidArgumentValue: 0x0115,
  MissingAttribute: 0x0120,
  InvalidObjectInstance: 0x0117,
  NoSuchAction: 0x0123,
  DuplicateSopInstance: 0x0111,
  ResourceLimitation: 0x0213,
  OutOfResources: 0xa700,
  IdentifierDoesNotMatchSopClass: 0xa900,
  UnableToProcess: 0xc000,
} as const;
export type DimseStatus = (typeof DimseStatus)[keyof typeof DimseStatus];
