export { DeviceRegistry, type DeviceRegistryDeps } from './registry.ts';
