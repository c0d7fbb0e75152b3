/** The placeholders of the export folder's file name pattern. */
export const exportNamePlaceholders = ['patientId', 'date', 'type', 'n', 'entryId', 'ext'] as const;
export type ExportNamePlaceholder = (typeof exportNamePlaceholders)[number];

/**
 * A placeholder's value as it may appear in a file name on any system the PVS runs on (Windows
 * shares included): letters, digits, `-` and `_`; anything else becomes `_`, and it is cut to 64.
 */
export function fileNamePart(value: string): string {
  const cleaned = value.normalize('NFC').replace(/[^\p{L}\p{N}_-]/gu, '_').slice(0, 64);
  return cleaned === '' ? '_' : cleaned;
}

/** Fills the pattern (checked when configured: no separators, known placeholders only). */
export function exportFileName(pattern: string, values: Record<ExportNamePlaceholder, string>): string {
  return pattern.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) =>
    (exportNamePlaceholders as readonly string[]).includes(name) ? fileNamePart(values[name as ExportNamePlaceholder]) : whole,
  );
}

/** `photo.jpg` → `photo (2).jpg`: the name to try when `name` is taken. */
export function numberedName(name: string, copy: number): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? `${name} (${copy})` : `${name.slice(0, dot)} (${copy})${name.slice(dot)}`;
}
