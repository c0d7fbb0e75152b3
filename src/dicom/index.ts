export { readDataset, isPart10 } from './read-dataset.ts';
export { fromDicomJsonModel, stripVrMaps } from './keywords.ts';
