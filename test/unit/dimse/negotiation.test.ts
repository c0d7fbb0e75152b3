import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContextResult, TransferSyntaxUid as TS, uncompressedTransferSyntaxes } from '../../../src/dimse/constants.ts';
import { chooseTransferSyntax, decideContexts } from '../../../src/dimse/negotiation.ts';

describe('transfer syntax negotiation', () => {
  test('looks at every proposed syntax, not only the first', () => {
    assert.equal(chooseTransferSyntax([TS.ExplicitVrBigEndian, TS.ExplicitVrLittleEndian, TS.ImplicitVrLittleEndian], uncompressedTransferSyntaxes, []), TS.ExplicitVrLittleEndian);
    assert.equal(chooseTransferSyntax([TS.ExplicitVrBigEndian, TS.ImplicitVrLittleEndian], uncompressedTransferSyntaxes, []), TS.ImplicitVrLittleEndian);
    assert.equal(chooseTransferSyntax([TS.ExplicitVrBigEndian], uncompressedTransferSyntaxes, []), TS.ExplicitVrBigEndian);
  });

  test('the configured preference comes first; syntaxes the service lacks are ignored', () => {
    const proposed = [TS.ExplicitVrLittleEndian, TS.ImplicitVrLittleEndian, TS.DeflatedExplicitVrLittleEndian];
    assert.equal(chooseTransferSyntax(proposed, uncompressedTransferSyntaxes, [TS.ImplicitVrLittleEndian]), TS.ImplicitVrLittleEndian);
    assert.equal(chooseTransferSyntax(proposed, uncompressedTransferSyntaxes, [TS.DeflatedExplicitVrLittleEndian]), TS.ExplicitVrLittleEndian);
    assert.equal(chooseTransferSyntax(['1.2.840.10008.1.2.4.50'], uncompressedTransferSyntaxes, []), undefined);
  });

  test('each context gets its own result', () => {
    const offered = (uid: string) =>
      uid === '1.1' ? { service: 'echo', transferSyntaxes: uncompressedTransferSyntaxes, allowed: true } : uid === '1.2' ? { service: 'find', transferSyntaxes: uncompressedTransferSyntaxes, allowed: false } : undefined;
    const decisions = decideContexts(
      [
        { id: 1, abstractSyntax: '1.1', transferSyntaxes: [TS.ExplicitVrBigEndian, TS.ExplicitVrLittleEndian] },
        { id: 3, abstractSyntax: '1.2', transferSyntaxes: [TS.ExplicitVrLittleEndian] },
        { id: 5, abstractSyntax: '9.9', transferSyntaxes: [TS.ExplicitVrLittleEndian] },
        { id: 7, abstractSyntax: '1.1', transferSyntaxes: ['1.2.840.10008.1.2.4.50'] },
      ],
      offered,
      [],
    );
    assert.deepEqual(decisions, [
      { id: 1, result: ContextResult.Acceptance, transferSyntax: TS.ExplicitVrLittleEndian, service: 'echo' },
      { id: 3, result: ContextResult.UserRejection },
      { id: 5, result: ContextResult.AbstractSyntaxNotSupported },
      { id: 7, result: ContextResult.TransferSyntaxesNotSupported },
    ]);
  });

  test('role selection: the requestor may be the SCU; a requestor that wants to be SCP only gets no context', () => {
    const offered = () => ({ service: 'storage-commitment', transferSyntaxes: uncompressedTransferSyntaxes, allowed: true });
    const decisions = decideContexts(
      [
        { id: 1, abstractSyntax: '1.2.840.10008.1.20.1', transferSyntaxes: [TS.ImplicitVrLittleEndian], roles: { scu: true, scp: false } },
        { id: 3, abstractSyntax: '1.2.840.10008.1.20.1', transferSyntaxes: [TS.ImplicitVrLittleEndian], roles: { scu: true, scp: true } },
        { id: 5, abstractSyntax: '1.2.840.10008.1.20.1', transferSyntaxes: [TS.ImplicitVrLittleEndian], roles: { scu: false, scp: true } },
        { id: 7, abstractSyntax: '1.2.840.10008.1.20.1', transferSyntaxes: [TS.ImplicitVrLittleEndian] },
      ],
      offered,
      [],
    );
    assert.deepEqual(
      decisions.map((d) => d.result),
      [ContextResult.Acceptance, ContextResult.Acceptance, ContextResult.UserRejection, ContextResult.Acceptance],
    );
  });
});
