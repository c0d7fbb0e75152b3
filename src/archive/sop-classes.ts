import dimse from 'dcmjs-dimse';
import { TransferSyntaxUid } from '../dimse/constants.ts';

/** Storage SOP classes beyond the ones dcmjs-dimse names. */
const moreStorageClasses = {
  KeyObjectSelectionDocumentStorage: '1.2.840.10008.5.1.4.1.1.88.59',
  GrayscaleSoftcopyPresentationStateStorage: '1.2.840.10008.5.1.4.1.1.11.1',
  RawDataStorage: '1.2.840.10008.5.1.4.1.1.66',
  EncapsulatedStlStorage: '1.2.840.10008.5.1.4.1.1.104.3',
  UltrasoundMultiframeImageStorageRetired: '1.2.840.10008.5.1.4.1.1.3',
  UltrasoundImageStorageRetired: '1.2.840.10008.5.1.4.1.1.6',
  TwelveLeadEcgWaveformStorage: '1.2.840.10008.5.1.4.1.1.9.1.1',
  GeneralEcgWaveformStorage: '1.2.840.10008.5.1.4.1.1.9.1.2',
  OphthalmicRefractiveMeasurementsStorage: '1.2.840.10008.5.1.4.1.1.78.8',
} as const;

/** Every storage SOP class the Storage SCP accepts (before the configured allow and deny lists). */
export const storageSopClasses: readonly string[] = [...new Set([...Object.values(dimse.constants.StorageClass as Record<string, string>), ...Object.values(moreStorageClasses)])];

/** Compressed and video transfer syntaxes: kept as the modality sends them, never transcoded. */
export const CompressedTransferSyntaxUid = {
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLosslessNonHierarchical: '1.2.840.10008.1.2.4.57',
  JpegLossless: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  Rle: '1.2.840.10008.1.2.5',
  Mpeg2MainProfile: '1.2.840.10008.1.2.4.100',
  Mpeg2HighProfile: '1.2.840.10008.1.2.4.101',
  Mpeg4HighProfile: '1.2.840.10008.1.2.4.102',
  Mpeg4BdCompatible: '1.2.840.10008.1.2.4.103',
  Mpeg4HighProfile2d: '1.2.840.10008.1.2.4.104',
  Mpeg4HighProfile3d: '1.2.840.10008.1.2.4.105',
  Mpeg4StereoHighProfile: '1.2.840.10008.1.2.4.106',
  HevcMainProfile: '1.2.840.10008.1.2.4.107',
  HevcMain10Profile: '1.2.840.10008.1.2.4.108',
} as const;

/**
 * What the Storage SCP accepts, in its order of preference: the modality's own compression first (no
 * decompression on the device, smaller files), then the uncompressed syntaxes.
 */
export const storageTransferSyntaxes: readonly string[] = [
  ...Object.values(CompressedTransferSyntaxUid),
  TransferSyntaxUid.ExplicitVrLittleEndian,
  TransferSyntaxUid.DeflatedExplicitVrLittleEndian,
  TransferSyntaxUid.ImplicitVrLittleEndian,
  TransferSyntaxUid.ExplicitVrBigEndian,
];
