export { readDataset, isPart10 } from './read-dataset.ts';
export { fromDicomJsonModel, stripVrMaps } from './keywords.ts';
export { encodeDataset } from './encode-dataset.ts';
export { receivedCharacterSet } from './received-charset.ts';
