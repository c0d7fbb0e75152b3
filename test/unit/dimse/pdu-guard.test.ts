import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PduFaultKind, PduFramer, PduType } from '../../../src/dimse/pdu-guard.ts';

const limits = { maxDataPduLength: 16384, maxAssociateRqLength: 65536 };

function pdu(type: number, length: number, fill = 0): Buffer {
  const b = Buffer.alloc(6 + length, fill);
  b[0] = type;
  b[1] = 0;
  b.writeUInt32BE(length, 2);
  return b;
}

describe('PduFramer', () => {
  test('frames whole PDUs from arbitrary chunking, one byte at a time included', () => {
    const stream = Buffer.concat([pdu(PduType.AssociateRq, 100), pdu(PduType.DataTf, 50), pdu(PduType.ReleaseRq, 4)]);
    for (const size of [1, 3, 7, 64, stream.length]) {
      const framer = new PduFramer(limits);
      const types: number[] = [];
      const lengths: number[] = [];
      for (let i = 0; i < stream.length; i += size) {
        const { pdus, fault } = framer.push(stream.subarray(i, i + size));
        assert.equal(fault, undefined);
        for (const p of pdus) {
          types.push(p.type);
          lengths.push(p.bytes.length);
        }
      }
      assert.deepEqual(types, [PduType.AssociateRq, PduType.DataTf, PduType.ReleaseRq], `chunk size ${size}`);
      assert.deepEqual(lengths, [106, 56, 10]);
      assert.equal(framer.pendingBytes, 0);
    }
  });

  test('counts the bytes of a PDU begun but not complete', () => {
    const framer = new PduFramer(limits);
    framer.push(pdu(PduType.AssociateRq, 100).subarray(0, 30));
    assert.equal(framer.pendingBytes, 30);
  });

  test('refuses a length beyond the limit on the header alone', () => {
    const framer = new PduFramer(limits);
    assert.equal(framer.push(pdu(PduType.AssociateRq, 100)).fault, undefined);
    const header = Buffer.from([PduType.DataTf, 0, 0x40, 0, 0, 0]);
    const { fault } = framer.push(header);
    assert.equal(fault?.kind, PduFaultKind.TooLarge);
    assert.equal(fault?.claimedLength, 0x40000000);
    assert.equal(framer.pendingBytes, 0);
    assert.deepEqual(framer.push(pdu(PduType.ReleaseRq, 4)).pdus, [], 'nothing after a fault');
  });

  test('accepts a P-DATA-TF of exactly the announced maximum', () => {
    const framer = new PduFramer(limits);
    framer.push(pdu(PduType.AssociateRq, 100));
    const { pdus, fault } = framer.push(pdu(PduType.DataTf, 16384));
    assert.equal(fault, undefined);
    assert.equal(pdus.length, 1);
  });

  test('names text, TLS and unknown types', () => {
    const cases: [Buffer, PduFaultKind][] = [
      [Buffer.from('GET / HTTP/1.1\r\n'), PduFaultKind.Text],
      [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]), PduFaultKind.TlsHandshake],
      [Buffer.from([0x09, 0x00, 0, 0, 0, 4, 0, 0, 0, 0]), PduFaultKind.UnknownPduType],
    ];
    for (const [bytes, kind] of cases) assert.equal(new PduFramer(limits).push(bytes).fault?.kind, kind, bytes.toString('hex'));
  });

  test('refuses PDUs out of place and fixed-size PDUs of the wrong size', () => {
    assert.equal(new PduFramer(limits).push(pdu(PduType.DataTf, 10)).fault?.kind, PduFaultKind.UnexpectedPdu);
    assert.equal(new PduFramer(limits).push(pdu(PduType.AssociateAc, 100)).fault?.kind, PduFaultKind.UnexpectedPdu);
    const twice = new PduFramer(limits);
    twice.push(pdu(PduType.AssociateRq, 100));
    assert.equal(twice.push(pdu(PduType.AssociateRq, 100)).fault?.kind, PduFaultKind.UnexpectedPdu);
    const release = new PduFramer(limits);
    release.push(pdu(PduType.AssociateRq, 100));
    assert.equal(release.push(pdu(PduType.ReleaseRq, 5000)).fault?.kind, PduFaultKind.BadLength);
    assert.equal(new PduFramer(limits).push(pdu(PduType.AssociateRq, 10)).fault?.kind, PduFaultKind.BadLength);
  });

  test('an A-ABORT is accepted even before an association request', () => {
    const { pdus, fault } = new PduFramer(limits).push(pdu(PduType.Abort, 4));
    assert.equal(fault, undefined);
    assert.equal(pdus[0]?.type, PduType.Abort);
  });
});
