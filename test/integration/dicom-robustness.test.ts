import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { associateRq, pdu, RawPeer, releaseRq } from '../support/raw-dicom.ts';

const PduType = { AssociateAc: 0x02, ReleaseRp: 0x06, Abort: 0x07 } as const;

async function echoSucceeds(gw: RunningGateway): Promise<void> {
  const result = await runTool('echoscu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
  assert.equal(result.code, 0, result.output);
}

function faults(gw: RunningGateway): string[] {
  return gw.logs.lines.filter((l) => l['msg'] === 'dropped connection: not an acceptable DICOM PDU').map((l) => String(l['fault']));
}

/** A peer associated by hand that stays open while others misbehave. */
async function openAssociation(gw: RunningGateway): Promise<RawPeer> {
  const peer = await RawPeer.connect(gw.ports.dicom);
  await peer.write(associateRq('DICOM_GATEWAY', 'BYSTANDER'));
  await peer.waitFor(6);
  assert.equal(peer.received[0], PduType.AssociateAc);
  return peer;
}

async function releases(peer: RawPeer): Promise<void> {
  const before = peer.received.length;
  await peer.write(releaseRq());
  await peer.waitFor(before + 10);
  assert.equal(peer.received[before], PduType.ReleaseRp);
}

describe('a listener that bad peers cannot take down', () => {
  test('an HTTP request on the DICOM port is dropped with a log line', async () => {
    const gw = await startGateway();
    const bystander = await openAssociation(gw);
    const peer = await RawPeer.connect(gw.ports.dicom);
    await peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await peer.closed;
    assert.equal(peer.received.length, 0, 'nothing DICOM is sent to a non-DICOM peer');
    assert.deepEqual(faults(gw), ['text']);
    await releases(bystander);
    await echoSucceeds(gw);
  });

  test('random bytes are dropped', async () => {
    const gw = await startGateway();
    const peer = await RawPeer.connect(gw.ports.dicom);
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    noise[0] = 0xa5;
    await peer.write(noise);
    await peer.closed;
    assert.deepEqual(faults(gw), ['unknown-pdu-type']);
    assert.deepEqual(peer.pduTypes(), [PduType.Abort]);
    await echoSucceeds(gw);
  });

  test('a TLS handshake on the plain port is named as such', async () => {
    const gw = await startGateway();
    const peer = await RawPeer.connect(gw.ports.dicom);
    await peer.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc0, 0x01, 0x00, 0x00, 0xbc, 0x03, 0x03]));
    await peer.closed;
    assert.deepEqual(faults(gw), ['tls-handshake']);
    await echoSucceeds(gw);
  });

  test('a truncated PDU (the peer closes mid-PDU) is logged and dropped', async () => {
    const gw = await startGateway();
    const peer = await RawPeer.connect(gw.ports.dicom);
    const rq = associateRq('DICOM_GATEWAY', 'HALF');
    await peer.write(rq.subarray(0, 40));
    peer.socket.end();
    await peer.closed;
    await echoSucceeds(gw);
    const line = gw.logs.lines.find((l) => l['msg'] === 'connection closed in the middle of a PDU');
    assert.equal(line?.['pendingBytes'], 40);
  });

  test('a peer that stops mid-PDU is dropped at the ARTIM timeout while others go on', async () => {
    const gw = await startGateway({ dicom: { timeouts: { artimSeconds: 0.5 } } });
    const staller = await RawPeer.connect(gw.ports.dicom);
    await staller.write(associateRq('DICOM_GATEWAY', 'STALLER').subarray(0, 30));
    // Others are served while the staller holds its connection.
    await echoSucceeds(gw);
    await staller.closed;
    assert.ok(gw.logs.messages().some((m) => m.includes('ARTIM')));
    const res = await gw.api('/api/v1/associations?outcome=dropped');
    const body = (await res.json()) as { items: { reason: string }[] };
    assert.ok(body.items.some((i) => i.reason === 'artim-timeout'));
  });

  test('an A-ASSOCIATE-RQ claiming 1 GiB is refused on its header, answered with A-ABORT', async () => {
    const gw = await startGateway();
    const peer = await RawPeer.connect(gw.ports.dicom);
    const header = Buffer.from([0x01, 0x00, 0x40, 0x00, 0x00, 0x00]);
    await peer.write(Buffer.concat([header, Buffer.alloc(1024)]));
    await peer.closed;
    assert.deepEqual(faults(gw), ['pdu-too-large']);
    assert.deepEqual(peer.pduTypes(), [PduType.Abort]);
    assert.equal(peer.received[9], 6, 'reason: invalid PDU parameter value');
    await echoSucceeds(gw);
  });

  test('a P-DATA-TF claiming 1 GiB inside an association is refused before it is buffered: memory stays flat', async () => {
    const gw = await startGateway();
    const bystander = await openAssociation(gw);
    const peer = await openAssociation(gw);
    const rssBefore = process.memoryUsage().rss;
    const header = Buffer.from([0x04, 0x00, 0x40, 0x00, 0x00, 0x00]);
    const chunk = Buffer.alloc(1024 * 1024, 0x42);
    let written = 0;
    let writeFailed = false;
    peer.socket.on('error', () => (writeFailed = true));
    await peer.write(header);
    // Keep sending until the server has closed the connection, at most 256 MiB.
    while (!peer.socket.destroyed && !writeFailed && written < 256 * 1024 * 1024) {
      const ok = peer.socket.write(chunk);
      written += chunk.length;
      if (!ok) await Promise.race([new Promise((resolve) => peer.socket.once('drain', resolve)), peer.closed]);
    }
    assert.ok(written < 256 * 1024 * 1024, 'the server closed the connection while the peer was still sending');
    await peer.closed;
    const growth = process.memoryUsage().rss - rssBefore;
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${growth} bytes`);
    assert.deepEqual(faults(gw), ['pdu-too-large']);
    assert.ok(peer.pduTypes().includes(PduType.Abort));
    await releases(bystander);
    await echoSucceeds(gw);
  });

  test('a PDU an SCP never receives (A-ASSOCIATE-AC) and P-DATA before association are refused', async () => {
    const gw = await startGateway();
    for (const type of [0x02, 0x04]) {
      const peer = await RawPeer.connect(gw.ports.dicom);
      await peer.write(pdu(type, Buffer.alloc(80)));
      await peer.closed;
    }
    assert.deepEqual(faults(gw), ['unexpected-pdu', 'unexpected-pdu']);
    await echoSucceeds(gw);
  });

  test('an association left idle is aborted at the idle timeout', async () => {
    const gw = await startGateway({ dicom: { timeouts: { idleSeconds: 0.3 } } });
    const peer = await openAssociation(gw);
    await peer.closed;
    assert.deepEqual(peer.pduTypes(), [PduType.AssociateAc, PduType.Abort]);
    const res = await gw.api('/api/v1/associations?outcome=aborted');
    let body = (await res.json()) as { items: { reason: string }[] };
    while (body.items.length === 0) body = (await (await gw.api('/api/v1/associations?outcome=aborted')).json()) as typeof body;
    assert.equal(body.items[0]?.reason, 'idle-timeout');
  });

  test('a flood of bad connections leaves the listener serving', async () => {
    const gw = await startGateway();
    const peers = await Promise.all(Array.from({ length: 40 }, () => RawPeer.connect(gw.ports.dicom)));
    await Promise.all(peers.map((p, i) => p.write(i % 2 === 0 ? Buffer.from('HELO garbage\r\n') : Buffer.from([0x01, 0, 0xff, 0xff, 0xff, 0xff]))));
    await Promise.all(peers.map((p) => p.closed));
    assert.equal(faults(gw).length, 40);
    await echoSucceeds(gw);
  });
});
