import { DeviceService } from '../domain/device.ts';
import { Uid, uncompressedTransferSyntaxes } from './constants.ts';
import type { DimseService } from './services.ts';

/** Verification SOP class: C-ECHO answered with Success. */
export function verificationService(): DimseService {
  return {
    name: 'echo',
    deviceService: DeviceService.Echo,
    sopClasses: [Uid.Verification],
    transferSyntaxes: uncompressedTransferSyntaxes,
    echo: async () => {},
  };
}
