import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commitmentReportDataset, FailureReason, isUid, maxCommitmentReferences, parseCommitmentRequest } from '../../../src/domain/storage-commitment.ts';

const ref = (i: number) => ({ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: `1.2.3.${i}` });

describe('storage commitment requests', () => {
  test('UIDs: digits and dots, no leading zeros, at most 64 characters', () => {
    assert.ok(isUid('1.2.840.10008.1.20.1.1'));
    assert.ok(isUid('1.0.3'));
    for (const bad of ['', '1', '1.02', '1..2', '1.2.', 'a.b', `1.${'2'.repeat(63)}`, 12]) assert.equal(isUid(bad), false, String(bad));
  });

  test('a valid request', () => {
    const parsed = parseCommitmentRequest({ TransactionUID: '1.2.9', ReferencedSOPSequence: [ref(1), ref(2)] });
    assert.deepEqual(parsed, {
      ok: true,
      request: {
        transactionUid: '1.2.9',
        references: [
          { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.1' },
          { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.2' },
        ],
      },
    });
  });

  test('every problem is named with its element', () => {
    const parsed = parseCommitmentRequest({ TransactionUID: '', ReferencedSOPSequence: [ref(1), { ReferencedSOPClassUID: '1.2', ReferencedSOPInstanceUID: 'x' }, {}] });
    assert.equal(parsed.ok, false);
    if (parsed.ok) return;
    assert.deepEqual(
      parsed.issues.map((i) => i.path),
      ['(0008,1195)', '(0008,1199)[2](0008,1155)', '(0008,1199)[3](0008,1150)', '(0008,1199)[3](0008,1155)'],
    );
    assert.equal(parsed.issues[1]?.message, 'item 2: Referenced SOP Instance UID is not a valid UID');
    assert.equal(parsed.issues[2]?.message, 'item 3: Referenced SOP Class UID is missing');
  });

  test('no data set, no sequence, an empty or an oversized sequence', () => {
    assert.deepEqual(parseCommitmentRequest(undefined), { ok: false, issues: [{ path: 'dataset', message: 'the N-ACTION carries no Action Information' }] });
    const noSequence = parseCommitmentRequest({ TransactionUID: '1.2.9' });
    assert.equal(noSequence.ok, false);
    assert.equal(!noSequence.ok && noSequence.issues[0]?.path, '(0008,1199)');
    assert.equal(parseCommitmentRequest({ TransactionUID: '1.2.9', ReferencedSOPSequence: [] }).ok, false);
    const huge = Array.from({ length: maxCommitmentReferences + 1 }, (_, i) => ref(i));
    const tooMany = parseCommitmentRequest({ TransactionUID: '1.2.9', ReferencedSOPSequence: huge });
    assert.equal(!tooMany.ok && tooMany.issues[0]?.message, `Referenced SOP Sequence has ${maxCommitmentReferences + 1} items, at most ${maxCommitmentReferences} are accepted`);
  });

  test('the report: event type 1 when all are committed, 2 with a Failed SOP Sequence otherwise', () => {
    const ok = { sopClassUid: '1.2.1', sopInstanceUid: '1.2.3.1', failureReason: null };
    const missing = { sopClassUid: '1.2.1', sopInstanceUid: '1.2.3.2', failureReason: FailureReason.NoSuchObjectInstance };
    assert.deepEqual(commitmentReportDataset('1.2.9', [ok]), {
      eventTypeId: 1,
      dataset: { TransactionUID: '1.2.9', ReferencedSOPSequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '1.2.3.1' }] },
    });
    assert.deepEqual(commitmentReportDataset('1.2.9', [missing]), {
      eventTypeId: 2,
      dataset: { TransactionUID: '1.2.9', FailedSOPSequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '1.2.3.2', FailureReason: 0x0112 }] },
    });
  });
});
