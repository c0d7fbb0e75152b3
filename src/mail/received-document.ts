import { readFile, writeFile } from 'node:fs/promises';
import { encapsulatedPdf } from '../dicom/index.ts';
import { nameBasedUid } from '../domain/uid.ts';
import type { ReceivedDocument } from './message-reader.ts';

/**
 * Writes a PDF that came with a study as an Encapsulated PDF instance of that study (one series of
 * documents per study), to be imported like any received object. Its UIDs follow from the study and
 * the PDF's content, so the same PDF sent again is a duplicate, not a second instance.
 */
export async function writeDocumentInstance(doc: ReceivedDocument, out: string, deps: { now: Date; implementation: { classUid: string; versionName: string } }): Promise<void> {
  const { study } = doc;
  const bytes = encapsulatedPdf({
    ...study,
    seriesInstanceUid: nameBasedUid(`dicom-gateway/mail-documents/${study.studyInstanceUid}`),
    sopInstanceUid: nameBasedUid(`dicom-gateway/mail-document/${study.studyInstanceUid}/${doc.sha256}`),
    title: doc.title,
    pdf: await readFile(doc.path),
    at: deps.now,
    implementation: deps.implementation,
  });
  await writeFile(out, bytes);
}
