import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeCertificates, runTool, type TestCertificates } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { tempDir } from '../support/temp.ts';

const certs: TestCertificates = makeCertificates(tempDir('gw-certs-'));

const echoTls = (gw: RunningGateway, tlsArgs: string[]) =>
  runTool('echoscu', ['-v', ...tlsArgs, '+cf', certs.caCert, '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);

describe('DICOM TLS', () => {
  test('echoscu +tls with a client certificate: Success over TLS, recorded as TLS', async () => {
    const gw = await startGateway({ dicom: { tls: { enabled: true, cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true } } });
    const result = await echoTls(gw, ['+tls', certs.clientKey, certs.clientCert]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Received Echo Response \(Success\)/);
    let items: { tls: boolean; outcome: string }[] = [];
    while (items.length === 0) items = ((await (await gw.api('/api/v1/associations')).json()) as { items: typeof items }).items;
    assert.equal(items[0]?.tls, true);
    assert.equal(items[0]?.outcome, 'released');
  });

  test('a client without a certificate is refused when one is required, and the listener goes on', async () => {
    const gw = await startGateway({ dicom: { tls: { enabled: true, cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireClientCert: true } } });
    const anonymous = await echoTls(gw, ['+tla']);
    assert.notEqual(anonymous.code, 0, anonymous.output);
    const failure = gw.logs.lines.find((l) => l['msg'] === 'TLS handshake failed: connection dropped');
    assert.match(String(failure?.['code']), /CERT|CERTIFICATE/);
    assert.ok(!gw.logs.lines.some((l) => l['msg'] === 'association accepted'), 'no association without a client certificate');
    const withCert = await echoTls(gw, ['+tls', certs.clientKey, certs.clientCert]);
    assert.equal(withCert.code, 0, withCert.output);
  });

  test('without requireClientCert an anonymous TLS client is served', async () => {
    const gw = await startGateway({ dicom: { tls: { enabled: true, cert: certs.serverCert, key: certs.serverKey } } });
    const result = await echoTls(gw, ['+tla']);
    assert.equal(result.code, 0, result.output);
  });

  test('a plain DICOM client on the TLS port fails, and TLS clients are still served', async () => {
    const gw = await startGateway({ dicom: { tls: { enabled: true, cert: certs.serverCert, key: certs.serverKey } } });
    const plain = await runTool('echoscu', ['-to', '5', '-ta', '5', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.notEqual(plain.code, 0);
    const result = await echoTls(gw, ['+tla']);
    assert.equal(result.code, 0, result.output);
  });
});
