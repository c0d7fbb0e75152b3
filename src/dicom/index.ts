export { readDataset, isPart10 } from './read-dataset.ts';
export { fromDicomJsonModel, stripVrMaps } from './keywords.ts';
export { encodeDataset } from './encode-dataset.ts';
export { receivedCharacterSet } from './received-charset.ts';
export { readHeaderFile } from './read-header-file.ts';
export { encapsulatedPdf, encapsulatedPdfStorage, type EncapsulatedPdfRequest } from './encapsulated-pdf.ts';
