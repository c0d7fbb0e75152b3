import { z } from 'zod';
import { aeTitleSchema } from './ae-title.ts';

/** The DICOM services a device may use with us. */
export const DeviceService = {
  Echo: 'echo',
  Worklist: 'worklist',
  Store: 'store',
  Mpps: 'mpps',
  StorageCommitment: 'commitment',
} as const;
export type DeviceService = (typeof DeviceService)[keyof typeof DeviceService];
const allServices = Object.values(DeviceService) as [DeviceService, ...DeviceService[]];

/**
 * Character sets we answer in. ISO_IR 100 (Latin-1) covers German umlauts and is what older
 * devices understand; ISO_IR 192 (UTF-8) for devices that ask for it or are configured so.
 */
export const CharacterSet = {
  Latin1: 'ISO_IR 100',
  Utf8: 'ISO_IR 192',
  Ascii: 'ISO_IR 6',
} as const;
export type CharacterSet = (typeof CharacterSet)[keyof typeof CharacterSet];
const allCharacterSets = Object.values(CharacterSet) as [CharacterSet, ...CharacterSet[]];

/** A hostname (RFC 1123) or an IPv4/IPv6 address. */
const hostSchema = z
  .string()
  .trim()
  .min(1, 'host must not be empty')
  .max(253)
  .refine((h) => z.ipv4().safeParse(h).success || z.ipv6().safeParse(h).success || /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(h), {
    message: 'host must be a hostname or an IP address',
  });

export const portSchema = z.number().int('port must be a whole number').min(1).max(65535);

/** Which worklist items a device sees, whatever its query asks for. */
export const worklistFilterSchema = z
  .object({
    /** Only these modalities (e.g. `US`). Empty: all. */
    modalities: z.array(z.string().trim().min(1).max(16)).default([]),
    /** Only items scheduled for this station AE title; `calling` means the device's own AE title. */
    stationAeTitle: z.union([z.literal('calling'), aeTitleSchema]).optional(),
  })
  .strict();
export type WorklistFilter = z.output<typeof worklistFilterSchema>;

export const deviceSchema = z
  .object({
    aeTitle: aeTitleSchema,
    /** A name for people, e.g. "Ultrasound room 2". */
    description: z.string().trim().max(200).default(''),
    /** Where we reach the device (storage commitment reports, later C-MOVE); also checked on association when set. */
    host: hostSchema.optional(),
    port: portSchema.optional(),
    tls: z.boolean().default(false),
    services: z
      .array(z.enum(allServices))
      .min(1, 'a device needs at least one service')
      .default([...allServices]),
    characterSet: z.enum(allCharacterSets).default(CharacterSet.Latin1),
    worklistFilter: worklistFilterSchema.default({ modalities: [] }),
    /**
     * Where our storage commitment report (N-EVENT-REPORT) goes: on the device's own association while
     * it is still open, else on a new one to host and port; or always on a new one ("deferred").
     */
    commitmentReport: z.enum(['same-association', 'new-association']).default('same-association'),
    /** At most this many concurrent associations from this device; none: the listener's default. */
    maxAssociations: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

/** A device as given in the config file or an API body. */
export type DeviceInput = z.input<typeof deviceSchema>;
export type DeviceSettings = z.output<typeof deviceSchema>;

export const DeviceSource = { Config: 'config', Api: 'api' } as const;
export type DeviceSource = (typeof DeviceSource)[keyof typeof DeviceSource];

/** A device of the registry: its settings and where they come from. */
export interface Device extends DeviceSettings {
  source: DeviceSource;
  createdAt: string;
  updatedAt: string;
}
