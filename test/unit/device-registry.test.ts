import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { Database, DeviceRepository } from '../../src/db/index.ts';
import { DeviceRegistry } from '../../src/devices/index.ts';
import { deviceSchema } from '../../src/domain/device.ts';
import { GatewayError } from '../../src/domain/errors.ts';
import { silentLogger } from '../../src/log.ts';

function registry(): { devices: DeviceRegistry; clock: ManualClock } {
  const db = Database.open({ file: ':memory:' });
  const clock = new ManualClock('2026-03-01T10:00:00Z');
  return { devices: new DeviceRegistry({ repository: new DeviceRepository(db), clock, log: silentLogger() }), clock };
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return err.issues.map((i) => i.path);
  }
  assert.fail('expected a GatewayError');
}

describe('device registry', () => {
  test('validation names every wrong field', () => {
    const { devices } = registry();
    const paths = issuesOf(() =>
      devices.create({ aeTitle: 'BACK\\SLASH', host: 'not a host!', port: 0, services: [], characterSet: 'KOI8', worklistFilter: { modalities: [''] }, extra: true }),
    );
    assert.deepEqual(paths.sort(), ['aeTitle', 'characterSet', 'extra', 'host', 'port', 'services', 'worklistFilter.modalities[0]']);
  });

  test('create, read, update and delete an API device', () => {
    const { devices, clock } = registry();
    const created = devices.create({ aeTitle: 'US_ROOM1', host: '192.168.10.21', port: 104, services: ['echo', 'worklist'] });
    assert.equal(created.source, 'api');
    assert.equal(created.characterSet, 'ISO_IR 100');
    assert.equal(created.createdAt, '2026-03-01T10:00:00.000Z');
    assert.throws(() => devices.create({ aeTitle: 'US_ROOM1' }), (e: unknown) => e instanceof GatewayError && e.code === 'conflict');
    clock.advance(60_000);
    const updated = devices.update('US_ROOM1', { characterSet: 'ISO_IR 192', services: ['echo'] });
    assert.equal(updated.characterSet, 'ISO_IR 192');
    assert.deepEqual(updated.services, ['echo']);
    assert.equal(updated.createdAt, '2026-03-01T10:00:00.000Z');
    assert.equal(updated.updatedAt, '2026-03-01T10:01:00.000Z');
    assert.deepEqual(issuesOf(() => devices.update('US_ROOM1', { aeTitle: 'OTHER' })), ['aeTitle']);
    devices.delete('US_ROOM1');
    assert.equal(devices.find('US_ROOM1'), undefined);
    assert.throws(() => devices.get('US_ROOM1'), (e: unknown) => e instanceof GatewayError && e.code === 'not_found');
  });

  test('config devices are synced, read-only through the API, and removed when gone from the config', () => {
    const { devices } = registry();
    devices.create({ aeTitle: 'API_DEV' });
    devices.syncFromConfig([deviceSchema.parse({ aeTitle: 'CR_1', port: 104, host: 'cr1.praxis.local' }), deviceSchema.parse({ aeTitle: 'US_2' })]);
    assert.deepEqual(devices.list().map((d) => `${d.aeTitle}:${d.source}`), ['API_DEV:api', 'CR_1:config', 'US_2:config']);
    assert.throws(() => devices.update('CR_1', { port: 105 }), (e: unknown) => e instanceof GatewayError && e.code === 'conflict' && /config file/.test(e.message));
    assert.throws(() => devices.delete('CR_1'), (e: unknown) => e instanceof GatewayError && e.code === 'conflict');
    devices.syncFromConfig([deviceSchema.parse({ aeTitle: 'US_2' })]);
    assert.deepEqual(devices.list().map((d) => d.aeTitle), ['API_DEV', 'US_2']);
  });
});
