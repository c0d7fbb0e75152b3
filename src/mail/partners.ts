import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { MailPartner, MailRepository } from '../db/index.ts';
import { aeTitleSchema } from '../domain/ae-title.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { cmsCertificate, type CmsCertificate } from './certificate.ts';

const pem = /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/;

/** A partner as the API takes it. `maxMailMb` is the largest mail their server takes. */
export const partnerInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    address: z.string().regex(/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/, 'an e-mail address such as radiology@example.org').max(254),
    certificate: z.string().regex(pem, 'the partner\'s S/MIME certificate as PEM (-----BEGIN CERTIFICATE----- ...)'),
    mailbox: z.string().min(1),
    maxMailMb: z.number().min(0.05).max(10_000).default(20),
    routes: z
      .object({
        /** Calling AE titles whose studies go to this partner when complete. */
        devices: z.array(aeTitleSchema).max(100).default([]),
        modalities: z.array(z.string().regex(/^[A-Z0-9]{1,16}$/, 'a modality code such as CT or US')).max(100).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export interface PartnerView extends Omit<MailPartner, 'maxMailBytes'> {
  maxMailMb: number;
  certificateInfo: { subject: string; issuer: string; serialNumber: string; validFrom: string; validTo: string; fingerprint256: string };
}

/** The partners' registry: validated, each with the certificate we pin for it. */
export class Partners {
  readonly #repository: MailRepository;
  readonly #mailboxes: readonly string[];
  readonly #clock: Clock;

  constructor(deps: { repository: MailRepository; mailboxes: readonly string[]; clock: Clock }) {
    this.#repository = deps.repository;
    this.#mailboxes = deps.mailboxes;
    this.#clock = deps.clock;
  }

  list(): PartnerView[] {
    return this.#repository.partners().map(view);
  }

  get(name: string): PartnerView {
    return view(this.#require(name));
  }

  /** The record and its parsed pinned certificate. */
  find(name: string): { partner: MailPartner; certificate: CmsCertificate } {
    const partner = this.#require(name);
    return { partner, certificate: cmsCertificate(partner.certificate) };
  }

  byAddress(address: string): { partner: MailPartner; certificate: CmsCertificate } | undefined {
    const partner = this.#repository.partnerByAddress(address);
    return partner === undefined ? undefined : { partner, certificate: cmsCertificate(partner.certificate) };
  }

  create(input: unknown): PartnerView {
    const p = this.#validate(input);
    if (this.#repository.partner(p.name) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a partner named "${p.name}" exists`, { issues: [{ path: 'name', message: 'already used' }] });
    if (this.#repository.partnerByAddress(p.address) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a partner with address ${p.address} exists`, { issues: [{ path: 'address', message: 'already used' }] });
    return view(this.#repository.insertPartner(p, this.#clock.now().toISOString()));
  }

  update(name: string, input: unknown): PartnerView {
    this.#require(name);
    const p = this.#validate(input);
    const other = this.#repository.partnerByAddress(p.address);
    if (other !== undefined && other.name !== name) throw new GatewayError(ErrorCode.Conflict, `a partner with address ${p.address} exists`, { issues: [{ path: 'address', message: 'already used' }] });
    if (p.name !== name && this.#repository.partner(p.name) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a partner named "${p.name}" exists`, { issues: [{ path: 'name', message: 'already used' }] });
    return view(this.#repository.updatePartner(name, p, this.#clock.now().toISOString()) as MailPartner);
  }

  delete(name: string): void {
    if (!this.#repository.deletePartner(name)) throw new GatewayError(ErrorCode.NotFound, 'no such partner');
  }

  #require(name: string): MailPartner {
    const partner = this.#repository.partner(name);
    if (partner === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such partner');
    return partner;
  }

  #validate(input: unknown): Omit<MailPartner, 'id' | 'createdAt' | 'updatedAt'> {
    const p = parseOrThrow(partnerInputSchema, input, 'partner');
    const issues: { path: string; message: string }[] = [];
    if (!this.#mailboxes.includes(p.mailbox)) issues.push({ path: 'mailbox', message: this.#mailboxes.length === 0 ? 'no mailbox is configured (mail.mailboxes)' : `no such mailbox; configured: ${this.#mailboxes.join(', ')}` });
    try {
      const cert = new X509Certificate(p.certificate);
      if (cert.publicKey.asymmetricKeyType !== 'rsa') issues.push({ path: 'certificate', message: 'the certificate must hold an RSA key (we encrypt to it with RSA key transport)' });
      if (new Date(cert.validTo) <= this.#clock.now()) issues.push({ path: 'certificate', message: `the certificate expired on ${new Date(cert.validTo).toISOString()}` });
    } catch (err) {
      issues.push({ path: 'certificate', message: `not a readable certificate: ${(err as Error).message}` });
    }
    if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'invalid partner', { issues });
    return { name: p.name, address: p.address.toLowerCase(), certificate: p.certificate.trim(), mailbox: p.mailbox, maxMailBytes: Math.floor(p.maxMailMb * 1024 * 1024), routes: p.routes };
  }
}

function view(p: MailPartner): PartnerView {
  const { maxMailBytes, ...rest } = p;
  const cert = new X509Certificate(p.certificate);
  return {
    ...rest,
    maxMailMb: maxMailBytes / (1024 * 1024),
    certificateInfo: { subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', '), serialNumber: cert.serialNumber, validFrom: new Date(cert.validFrom).toISOString(), validTo: new Date(cert.validTo).toISOString(), fingerprint256: cert.fingerprint256 },
  };
}
