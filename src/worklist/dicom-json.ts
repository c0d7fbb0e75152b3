import type { DicomJson, DicomJsonElement } from '../domain/dicom-json.ts';
import { attributeByKeyword } from '../domain/mwl-attributes.ts';

/**
 * The keyword form of an item (`itemKeywords`) in the DICOM JSON model, with the VRs of the worklist
 * dictionary. Empty strings, nulls and empty lists become zero-length elements.
 */
export function keywordsToDicomJson(keywords: Record<string, unknown>): DicomJson {
  const out: DicomJson = {};
  for (const [keyword, value] of Object.entries(keywords)) {
    const attribute = attributeByKeyword(keyword);
    if (attribute === undefined) throw new Error(`no worklist attribute named ${keyword}`);
    const element: DicomJsonElement = { vr: attribute.vr };
    const values = (Array.isArray(value) ? value : [value]).filter((v) => v !== null && v !== undefined && v !== '');
    if (values.length > 0) {
      if (attribute.vr === 'SQ') element.Value = values.map((item) => keywordsToDicomJson(item as Record<string, unknown>));
      else if (attribute.vr === 'PN') element.Value = values.map((v) => ({ Alphabetic: String(v) }));
      else element.Value = values;
    } else if (attribute.vr === 'SQ') element.Value = [];
    out[attribute.tag] = element;
  }
  return out;
}
