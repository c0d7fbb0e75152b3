import dcmjs from 'dcmjs';

const tagKey = /^[0-9A-Fa-f]{8}$/;

/** dcmjs leaves `_vrMap` bookkeeping in naturalized datasets; the keyword form has none. */
export function stripVrMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripVrMaps);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '_vrMap').map(([k, v]) => [k, stripVrMaps(v)]));
  }
  return value;
}

/**
 * A body in the DICOM JSON model (PS3.18 F.2, keys are tags such as "00100010") in the keyword form
 * (`PatientName`); a keyword body passes unchanged. Tags unknown to the dictionary keep their tag as key,
 * so that validation names them.
 */
export function fromDicomJsonModel(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const keys = Object.keys(body);
  if (keys.length === 0 || !keys.every((k) => tagKey.test(k))) return body;
  return stripVrMaps(dcmjs.data.DicomMetaDictionary.naturalizeDataset(body as Record<string, unknown>));
}
