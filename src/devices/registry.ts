import type { Clock } from '../clock.ts';
import type { DeviceRepository } from '../db/device-repository.ts';
import { deviceSchema, DeviceSource, type Device, type DeviceSettings } from '../domain/device.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';
import type { Logger } from '../log.ts';

export interface DeviceRegistryDeps {
  repository: DeviceRepository;
  clock: Clock;
  log: Logger;
}

/**
 * The one registry of known DICOM peers. Devices from the config file are synced in at start and are
 * read-only through the API (the file stays the truth for them); devices added through the API live
 * only in the database.
 */
export class DeviceRegistry {
  readonly #deps: DeviceRegistryDeps;
  constructor(deps: DeviceRegistryDeps) {
    this.#deps = deps;
  }

  syncFromConfig(devices: readonly DeviceSettings[]): void {
    const { repository, clock, log } = this.#deps;
    for (const device of devices) {
      const existing = repository.get(device.aeTitle);
      if (existing?.source === DeviceSource.Api) {
        log.warn({ aeTitle: device.aeTitle }, 'device defined in the config replaces the one added through the API');
      }
      repository.upsert(device, DeviceSource.Config, clock.now());
    }
    const removed = repository.deleteConfigDevicesExcept(devices.map((d) => d.aeTitle));
    if (removed > 0) log.info({ removed }, 'removed devices no longer in the config');
  }

  list(): Device[] {
    return this.#deps.repository.list();
  }

  find(aeTitle: string): Device | undefined {
    return this.#deps.repository.get(aeTitle.trim());
  }

  get(aeTitle: string): Device {
    const device = this.find(aeTitle);
    if (device === undefined) throw new GatewayError(ErrorCode.NotFound, `no device with AE title "${aeTitle}"`);
    return device;
  }

  create(input: unknown): Device {
    const settings = parseOrThrow(deviceSchema, input, 'device');
    if (this.find(settings.aeTitle) !== undefined) {
      throw new GatewayError(ErrorCode.Conflict, `a device with AE title "${settings.aeTitle}" exists; update it with PUT instead`);
    }
    const device = this.#deps.repository.upsert(settings, DeviceSource.Api, this.#deps.clock.now());
    this.#deps.log.info({ aeTitle: device.aeTitle }, 'device added');
    return device;
  }

  /** Replaces the settings of an API device; the body's AE title, if given, must match the path. */
  update(aeTitle: string, input: unknown): Device {
    const existing = this.get(aeTitle);
    this.#assertEditable(existing);
    const body = typeof input === 'object' && input !== null && !Array.isArray(input) ? { aeTitle: existing.aeTitle, ...input } : input;
    const settings = parseOrThrow(deviceSchema, body, 'device');
    if (settings.aeTitle !== existing.aeTitle) {
      throw new GatewayError(ErrorCode.Invalid, 'invalid device', {
        issues: [{ path: 'aeTitle', message: 'the AE title cannot be changed', hint: 'delete the device and add it under the new AE title' }],
      });
    }
    const device = this.#deps.repository.upsert(settings, DeviceSource.Api, this.#deps.clock.now());
    this.#deps.log.info({ aeTitle: device.aeTitle }, 'device updated');
    return device;
  }

  delete(aeTitle: string): void {
    const existing = this.get(aeTitle);
    this.#assertEditable(existing);
    this.#deps.repository.delete(existing.aeTitle);
    this.#deps.log.info({ aeTitle: existing.aeTitle }, 'device removed');
  }

  #assertEditable(device: Device): void {
    if (device.source === DeviceSource.Config) {
      throw new GatewayError(ErrorCode.Conflict, `device "${device.aeTitle}" is defined in the config file; change it there`);
    }
  }
}
