import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, testToken } from '../support/gateway.ts';

describe('HTTP API', () => {
  test('/healthz reports every component without a token', async () => {
    const gw = await startGateway();
    const res = await fetch(`${gw.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; components: Record<string, { ok: boolean }>; warnings: string[]; version: string };
    assert.equal(body.status, 'ok');
    assert.equal(body.components['database']?.ok, true);
    assert.match(body.warnings.join(), /registry is open/);
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.ok(res.headers.get('x-request-id'));
  });

  test('/healthz turns 503 with the reason when a component is down', async () => {
    const gw = await startGateway({ dicom: { strictDevices: true } });
    gw.gateway.health.register('disk', () => ({ ok: false, reason: 'free space below minimum' }));
    const res = await fetch(`${gw.baseUrl}/healthz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; reasons: string[]; warnings: string[] };
    assert.equal(body.status, 'unavailable');
    assert.deepEqual(body.reasons, ['disk: free space below minimum']);
    assert.deepEqual(body.warnings, []);
  });

  test('the API needs the bearer token', async () => {
    const gw = await startGateway();
    const none = await fetch(`${gw.baseUrl}/api/v1/devices`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="dicom-gateway"');
    assert.equal(none.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const wrong = await fetch(`${gw.baseUrl}/api/v1/devices`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { detail: string }).detail, /wrong/);
    const right = await fetch(`${gw.baseUrl}/api/v1/devices`, { headers: { authorization: `Bearer ${testToken}` } });
    assert.equal(right.status, 200);
  });

  test('without a configured token the API is closed, not open', async () => {
    const gw = await startGateway({ http: { apiToken: undefined } });
    const res = await fetch(`${gw.baseUrl}/api/v1/devices`, { headers: { authorization: `Bearer ${testToken}` } });
    assert.equal(res.status, 403);
    const problem = (await res.json()) as { title: string; detail: string; status: number };
    assert.equal(problem.status, 403);
    assert.match(problem.detail, /GATEWAY_API_TOKEN/);
  });

  test('devices: create, list, update, delete, with problem documents naming every bad field', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'CR_CONFIG' }] });
    const bad = await gw.api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ aeTitle: '', port: 'x', services: ['fax'], colour: 'red' }) });
    assert.equal(bad.status, 400);
    const problem = (await bad.json()) as { type: string; title: string; status: number; errors: { path: string; message: string }[] };
    assert.equal(problem.type, 'about:blank');
    assert.equal(problem.status, 400);
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), ['aeTitle', 'colour', 'port', 'services[0]']);

    const notJson = await gw.api('/api/v1/devices', { method: 'POST', body: '{"aeTitle": ' });
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { detail: string }).detail, /not valid JSON/);

    const created = await gw.api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ aeTitle: 'US_ROOM1', host: '10.0.0.5', port: 104, characterSet: 'ISO_IR 192' }) });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/api/v1/devices/US_ROOM1');
    const dup = await gw.api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ aeTitle: 'US_ROOM1' }) });
    assert.equal(dup.status, 409);

    const list = (await (await gw.api('/api/v1/devices')).json()) as { items: { aeTitle: string; source: string }[] };
    assert.deepEqual(list.items.map((d) => [d.aeTitle, d.source]), [['CR_CONFIG', 'config'], ['US_ROOM1', 'api']]);

    const put = await gw.api('/api/v1/devices/US_ROOM1', { method: 'PUT', body: JSON.stringify({ port: 11112, services: ['echo', 'store'] }) });
    assert.equal(put.status, 200);
    assert.deepEqual(((await put.json()) as { services: string[] }).services, ['echo', 'store']);
    const readOnly = await gw.api('/api/v1/devices/CR_CONFIG', { method: 'DELETE' });
    assert.equal(readOnly.status, 409);

    assert.equal((await gw.api('/api/v1/devices/US_ROOM1', { method: 'DELETE' })).status, 204);
    assert.equal((await gw.api('/api/v1/devices/US_ROOM1')).status, 404);
    assert.equal((await gw.api('/api/v1/nothing-here')).status, 404);
  });

  test('patient data in log calls is redacted in the console and the log file', async () => {
    const gw = await startGateway();
    gw.gateway.log.child({ component: 'test' }).info({ PatientName: 'Müller^Jürgen', PatientID: 'PID-4711', study: { PatientBirthDate: '19700101' }, accessionNumber: 'ACC1' }, 'stored');
    await gw.stop();
    const line = gw.logs.raw.find((l) => l.includes('"stored"')) ?? '';
    assert.ok(line.includes('ACC1'), 'non-patient fields stay');
    for (const secret of ['Müller', 'PID-4711', '19700101']) assert.ok(!line.includes(secret), `${secret} leaked to the console`);
    const { readdirSync, readFileSync } = await import('node:fs');
    const files = readdirSync(gw.gateway.layout.logs).filter((f) => f.endsWith('.log'));
    const text = files.map((f) => readFileSync(`${gw.gateway.layout.logs}/${f}`, 'utf8')).join('');
    assert.ok(text.includes('"stored"'), 'the log file got the line');
    for (const secret of ['Müller', 'PID-4711', '19700101']) assert.ok(!text.includes(secret), `${secret} leaked to the log file`);
  });

  test('authorization headers never reach the log', async () => {
    const gw = await startGateway();
    await gw.api('/api/v1/devices');
    await gw.stop();
    assert.ok(gw.logs.raw.some((l) => l.includes('/api/v1/devices')));
    assert.ok(!gw.logs.raw.some((l) => l.includes(testToken)));
  });
});
