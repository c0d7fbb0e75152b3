import type { Clock } from '../clock.ts';
import type { AssociationRepository } from '../db/index.ts';
import { quarterBounds } from '../domain/quarter.ts';
import type { DeviceRegistry } from './registry.ts';

export interface ConnectedClient {
  callingAeTitle: string;
  /** In the device registry? */
  known: boolean;
  description: string | null;
  lastSeen: string | null;
  /** Accepted associations this calendar quarter and the one before (site time zone). */
  thisQuarter: number;
  lastQuarter: number;
  rejectedThisQuarter: number;
}

export interface ConnectedClientsReport {
  timezone: string;
  thisQuarter: { name: string; start: string };
  lastQuarter: { name: string; start: string };
  items: ConnectedClient[];
}

export interface ActivityDeps {
  associations: AssociationRepository;
  registry: DeviceRegistry;
  clock: Clock;
  timezone: string;
}

/** The "connected clients" view: every registered device and every calling AE title we have seen. */
export function connectedClients(deps: ActivityDeps): ConnectedClientsReport {
  const bounds = quarterBounds(deps.clock.now(), deps.timezone);
  const activity = new Map(deps.associations.activity(bounds.previousStart.toISOString(), bounds.currentStart.toISOString()).map((a) => [a.callingAeTitle, a]));
  const devices = deps.registry.list();
  const items: ConnectedClient[] = devices.map((d) => {
    const a = activity.get(d.aeTitle);
    activity.delete(d.aeTitle);
    return { callingAeTitle: d.aeTitle, known: true, description: d.description, lastSeen: a?.lastSeen ?? null, thisQuarter: a?.current ?? 0, lastQuarter: a?.previous ?? 0, rejectedThisQuarter: a?.rejectedCurrent ?? 0 };
  });
  for (const a of activity.values()) {
    items.push({ callingAeTitle: a.callingAeTitle, known: false, description: null, lastSeen: a.lastSeen, thisQuarter: a.current, lastQuarter: a.previous, rejectedThisQuarter: a.rejectedCurrent });
  }
  items.sort((x, y) => x.callingAeTitle.localeCompare(y.callingAeTitle));
  return {
    timezone: deps.timezone,
    thisQuarter: { name: bounds.current, start: bounds.currentStart.toISOString() },
    lastQuarter: { name: bounds.previous, start: bounds.previousStart.toISOString() },
    items,
  };
}
