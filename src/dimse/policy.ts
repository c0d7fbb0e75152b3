import { isIP } from 'node:net';
import type { Device } from '../domain/device.ts';
import { RejectReason, RejectResult, RejectSource, Uid } from './constants.ts';

/** What an A-ASSOCIATE-RJ carries, and why we sent it (for the log and the association record). */
export interface Rejection {
  result: number;
  source: number;
  reason: number;
  /** A short code for records and the API. */
  code: RejectionCode;
  detail: string;
}

export const RejectionCode = {
  CalledAeUnknown: 'called-ae-unknown',
  CallingAeUnknown: 'calling-ae-unknown',
  HostMismatch: 'host-mismatch',
  ApplicationContext: 'application-context',
  TooManyAssociations: 'too-many-associations',
  TooManyForDevice: 'too-many-for-device',
  ShuttingDown: 'shutting-down',
  /** A proposed service cannot take work now (e.g. the archive disk is below its minimum). */
  ServiceUnavailable: 'service-unavailable',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

export interface AssociationPolicyConfig {
  aeTitle: string;
  aliases: readonly string[];
  strictDevices: boolean;
  maxAssociations: number;
  maxAssociationsPerDevice: number;
}

export interface AssociationRequestFacts {
  callingAeTitle: string;
  calledAeTitle: string;
  applicationContextName: string;
  peerAddress: string;
  /** The calling AE's registry entry, if any. */
  device: Device | undefined;
  /** Accepted associations open now, overall and from this calling AE. */
  activeAssociations: number;
  activeForCallingAe: number;
  /** Addresses the device's configured host resolves to (the host itself when it is an IP). */
  deviceAddresses?: readonly string[];
  shuttingDown: boolean;
}

export type PolicyDecision = { kind: 'accept'; calledAlias: string | undefined } | { kind: 'reject'; rejection: Rejection };

/** AE titles compare without their padding spaces, as the standard says; case matters. */
export function normalizeAeTitle(ae: string): string {
  return ae.trim();
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one peer. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

const reject = (result: number, source: number, reason: number, code: RejectionCode, detail: string): PolicyDecision => ({
  kind: 'reject',
  rejection: { result, source, reason, code, detail },
});

/**
 * Decides whether to accept an association request. Pure: the listener gathers the facts.
 * Order: our own state (shutting down, overall limit) first, then what the peer asked for.
 */
export function decideAssociation(config: AssociationPolicyConfig, facts: AssociationRequestFacts): PolicyDecision {
  if (facts.shuttingDown) {
    return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationTemporaryCongestion, RejectionCode.ShuttingDown, 'the gateway is shutting down');
  }
  if (facts.applicationContextName !== Uid.ApplicationContext) {
    return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserApplicationContextNotSupported, RejectionCode.ApplicationContext, 'unsupported application context');
  }
  const called = normalizeAeTitle(facts.calledAeTitle);
  const calledAlias = config.aliases.find((a) => a === called);
  if (called !== config.aeTitle && calledAlias === undefined) {
    return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserCalledAeNotRecognized, RejectionCode.CalledAeUnknown, 'called AE title is not ours');
  }
  if (config.strictDevices && facts.device === undefined) {
    return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserCallingAeNotRecognized, RejectionCode.CallingAeUnknown, 'calling AE title is not in the device registry');
  }
  if (facts.device?.host !== undefined && facts.deviceAddresses !== undefined) {
    const peer = normalizeAddress(facts.peerAddress);
    if (!facts.deviceAddresses.map(normalizeAddress).includes(peer)) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserCallingAeNotRecognized, RejectionCode.HostMismatch, 'the calling AE title is registered for another host');
    }
  }
  if (facts.activeAssociations >= config.maxAssociations) {
    return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationTemporaryCongestion, RejectionCode.TooManyAssociations, `already ${facts.activeAssociations} associations open`);
  }
  const perDevice = facts.device?.maxAssociations ?? config.maxAssociationsPerDevice;
  if (facts.activeForCallingAe >= perDevice) {
    return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationLocalLimitExceeded, RejectionCode.TooManyForDevice, `already ${facts.activeForCallingAe} associations open from this AE title`);
  }
  return { kind: 'accept', calledAlias };
}
