export { DeviceRegistry, type DeviceRegistryDeps } from './registry.ts';
export { connectedClients, type ActivityDeps, type ConnectedClient, type ConnectedClientsReport } from './activity.ts';
