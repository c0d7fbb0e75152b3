import { createRequire } from 'node:module';
import type dcmjsModule from 'dcmjs';

/**
 * dcmjs decodes received text by its Specific Character Set and then rewrites (0008,0005) to
 * "ISO_IR 192", keeping the original only on the raw element, which naturalizing drops. A query's own
 * character set says what the modality can read, so we keep it, as a hidden property of the
 * naturalized dataset (not enumerable: it never travels further).
 */
const receivedCharset = Symbol('receivedCharset');
// dcmjs-dimse loads dcmjs with require(), a module instance apart from our ES import: patch that one.
const dcmjsOfDimse = createRequire(import.meta.url)('dcmjs') as typeof dcmjsModule;
const dictionary = dcmjsOfDimse.data.DicomMetaDictionary;
const naturalize = dictionary.naturalizeDataset.bind(dictionary);
dictionary.naturalizeDataset = (dataset: Record<string, unknown>) => {
  const result = naturalize(dataset);
  const raw = (dataset['00080005'] as { _rawValue?: unknown } | undefined)?._rawValue;
  if (Array.isArray(raw)) Object.defineProperty(result, receivedCharset, { value: raw.map(String), enumerable: false });
  return result;
};

/** The (0008,0005) values as received, before dcmjs rewrote them; undefined when there was none. */
export function receivedCharacterSet(elements: Record<string, unknown>): string[] | undefined {
  const raw = (elements as { [receivedCharset]?: string[] })[receivedCharset];
  if (raw !== undefined) return raw;
  const value = elements['SpecificCharacterSet'];
  if (value === undefined || value === '') return undefined;
  return Array.isArray(value) ? value.map(String) : String(value).split('\\');
}
