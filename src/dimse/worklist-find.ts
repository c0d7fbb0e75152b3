import dcmjs from 'dcmjs';
import { encodeDataset, receivedCharacterSet } from '../dicom/index.ts';
import { DeviceService } from '../domain/device.ts';
import type { DicomJson } from '../domain/dicom-json.ts';
import { Tag } from '../domain/mwl-attributes.ts';
import type { WorklistQuery } from '../worklist/index.ts';
import { Uid, uncompressedTransferSyntaxes } from './constants.ts';
import { EncodedDataset, type DimseService } from './services.ts';

/**
 * Modality Worklist Information Model - FIND (SCP). Answers go out one at a time (the listener checks
 * for C-CANCEL between them), each encoded in the character set chosen for the asking device.
 */
export function worklistFindService(query: WorklistQuery): DimseService {
  return {
    name: 'worklist',
    deviceService: DeviceService.Worklist,
    sopClasses: [Uid.ModalityWorklistFind],
    transferSyntaxes: uncompressedTransferSyntaxes,
    async *find(ctx, identifier) {
      const dicomJson = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(identifier) as DicomJson;
      const charset = receivedCharacterSet(identifier);
      if (charset === undefined) delete dicomJson[Tag.SpecificCharacterSet];
      else dicomJson[Tag.SpecificCharacterSet] = { vr: 'CS', Value: charset };
      const asker = { callingAeTitle: ctx.association.callingAeTitle, calledAlias: ctx.association.calledAlias, device: ctx.association.device };
      for (const answer of query.answers(dicomJson, asker)) {
        yield new EncodedDataset(encodeDataset(answer.dataset, ctx.transferSyntax, answer.charset));
      }
    },
  };
}
