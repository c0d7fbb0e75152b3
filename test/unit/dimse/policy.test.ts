import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Device } from '../../../src/domain/device.ts';
import { RejectReason, RejectResult, RejectSource, Uid } from '../../../src/dimse/constants.ts';
import { decideAssociation, normalizeAddress, RejectionCode, type AssociationRequestFacts } from '../../../src/dimse/policy.ts';

const config = { aeTitle: 'GATEWAY', aliases: ['PART_B'], strictDevices: false, maxAssociations: 10, maxAssociationsPerDevice: 2 };
const device = (over: Partial<Device> = {}): Device =>
  ({ aeTitle: 'US1', description: '', tls: false, services: ['echo'], characterSet: 'ISO_IR 100', worklistFilter: { modalities: [] }, source: 'config', createdAt: '', updatedAt: '', ...over }) as Device;
const facts = (over: Partial<AssociationRequestFacts> = {}): AssociationRequestFacts => ({
  callingAeTitle: 'US1',
  calledAeTitle: 'GATEWAY',
  applicationContextName: Uid.ApplicationContext,
  peerAddress: '10.0.0.5',
  device: undefined,
  activeAssociations: 0,
  activeForCallingAe: 0,
  shuttingDown: false,
  ...over,
});

function rejection(f: AssociationRequestFacts, c = config) {
  const d = decideAssociation(c, f);
  assert.equal(d.kind, 'reject');
  return d.kind === 'reject' ? d.rejection : undefined;
}

describe('association policy', () => {
  test('accepts our title and our aliases, telling which alias was called', () => {
    assert.deepEqual(decideAssociation(config, facts()), { kind: 'accept', calledAlias: undefined });
    assert.deepEqual(decideAssociation(config, facts({ calledAeTitle: 'PART_B  ' })), { kind: 'accept', calledAlias: 'PART_B' });
  });

  test('a foreign called AE: permanent, service user, called AE not recognized', () => {
    const r = rejection(facts({ calledAeTitle: 'gateway' }));
    assert.deepEqual([r?.result, r?.source, r?.reason, r?.code], [RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserCalledAeNotRecognized, RejectionCode.CalledAeUnknown]);
  });

  test('strict registry: unknown calling AE refused with reason 3; open registry accepts it', () => {
    const r = rejection(facts(), { ...config, strictDevices: true });
    assert.deepEqual([r?.result, r?.source, r?.reason], [RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.UserCallingAeNotRecognized]);
    assert.equal(decideAssociation({ ...config, strictDevices: true }, facts({ device: device() })).kind, 'accept');
  });

  test('a device registered with a host must call from it', () => {
    const d = device({ host: '10.0.0.9' });
    assert.equal(rejection(facts({ device: d, deviceAddresses: ['10.0.0.9'] }))?.code, RejectionCode.HostMismatch);
    assert.equal(decideAssociation(config, facts({ device: d, deviceAddresses: ['10.0.0.9'], peerAddress: '::ffff:10.0.0.9' })).kind, 'accept');
  });

  test('limits: overall is temporary congestion, per device is local limit exceeded, both transient', () => {
    const overall = rejection(facts({ activeAssociations: 10 }));
    assert.deepEqual([overall?.result, overall?.source, overall?.reason], [RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationTemporaryCongestion]);
    const perDevice = rejection(facts({ activeForCallingAe: 2 }));
    assert.deepEqual([perDevice?.result, perDevice?.source, perDevice?.reason], [RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationLocalLimitExceeded]);
    assert.equal(decideAssociation(config, facts({ activeForCallingAe: 2, device: device({ maxAssociations: 5 }) })).kind, 'accept');
  });

  test('a foreign application context and a shutdown are refused', () => {
    assert.equal(rejection(facts({ applicationContextName: '1.2.3' }))?.reason, RejectReason.UserApplicationContextNotSupported);
    assert.equal(rejection(facts({ shuttingDown: true }))?.result, RejectResult.Transient);
  });

  test('IPv4-mapped IPv6 addresses are the IPv4 address', () => {
    assert.equal(normalizeAddress('::FFFF:192.168.1.2'), '192.168.1.2');
    assert.equal(normalizeAddress('fe80::1'), 'fe80::1');
  });
});
