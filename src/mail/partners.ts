import { X509Certificate } from 'node:crypto';
import type { Config, PublicKey } from 'openpgp';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { MailFormat, type MailPartner, type MailRepository, type NewPartner } from '../db/index.ts';
import { aeTitleSchema } from '../domain/ae-title.ts';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { certificateInfo, cmsCertificate, type CertificateInfo, type CmsCertificate } from './certificate.ts';
import { openPgpKeyInfo, readPartnerKey, type OpenPgpKeyInfo } from './pgp-keys.ts';
import { legacyFindings, pgpConfig, type LegacyFindings } from './pgp-policy.ts';

const pem = /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/;
const armoredPublicKey = /^-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\s*$/;

/** A partner as the API takes it. `maxMailMb` is the largest mail their server takes. */
export const partnerInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    address: z.string().regex(/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/, 'an e-mail address such as radiology@example.org').max(254),
    /** S/MIME (PS3.15 B.8) or OpenPGP (PGP/MIME, RFC 3156, as the German teleradiology networks use it). */
    format: z.enum([MailFormat.Smime, MailFormat.OpenPgp]).default(MailFormat.Smime),
    certificate: z.string().regex(pem, 'the partner\'s S/MIME certificate as PEM (-----BEGIN CERTIFICATE----- ...)').optional(),
    publicKey: z.string().regex(armoredPublicKey, 'the partner\'s OpenPGP public key, armored (-----BEGIN PGP PUBLIC KEY BLOCK----- ...)').max(1_000_000).optional(),
    /** Exceptions to the strict OpenPGP rules for a partner with an old key; shown in the API and logged when used. */
    legacy: z
      .object({
        sha1: z.boolean().default(false),
        oldKeyTypes: z.boolean().default(false),
        /** Inline PGP (an armored message as the text/plain body) instead of PGP/MIME. */
        inlinePgp: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
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

export interface PartnerView extends Omit<MailPartner, 'maxMailBytes' | 'openpgpKey'> {
  maxMailMb: number;
  certificateInfo: CertificateInfo | null;
  publicKey: string | null;
  openpgp: (OpenPgpKeyInfo & { legacyFindings: string[] }) | null;
}

/** A partner with what we pin for it, parsed: its certificate, or its OpenPGP key and the rules for it. */
export type PinnedPartner =
  | { format: typeof MailFormat.Smime; partner: MailPartner; certificate: CmsCertificate }
  | { format: typeof MailFormat.OpenPgp; partner: MailPartner; key: PublicKey; config: Config; findings: LegacyFindings };

/** The partners' registry: validated, each with the certificate or key we pin for it. */
export class Partners {
  readonly #repository: MailRepository;
  /** Our mailboxes' names, as they are now (mailboxes come and go through the API). */
  readonly #mailboxes: ReadonlyMap<string, unknown> | ReadonlySet<string>;
  readonly #clock: Clock;

  constructor(deps: { repository: MailRepository; mailboxes: ReadonlyMap<string, unknown> | ReadonlySet<string>; clock: Clock }) {
    this.#repository = deps.repository;
    this.#mailboxes = deps.mailboxes;
    this.#clock = deps.clock;
  }

  list(): Promise<PartnerView[]> {
    return Promise.all(this.#repository.partners().map(view));
  }

  get(name: string): Promise<PartnerView> {
    return view(this.#require(name));
  }

  /** The record and what we pin for it, parsed. */
  find(name: string): Promise<PinnedPartner> {
    return pinned(this.#require(name));
  }

  async byAddress(address: string): Promise<PinnedPartner | undefined> {
    const partner = this.#repository.partnerByAddress(address);
    return partner === undefined ? undefined : pinned(partner);
  }

  async create(input: unknown): Promise<PartnerView> {
    const p = await this.#validate(input);
    if (this.#repository.partner(p.name) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a partner named "${p.name}" exists`, { issues: [{ path: 'name', message: 'already used' }] });
    if (this.#repository.partnerByAddress(p.address) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a partner with address ${p.address} exists`, { issues: [{ path: 'address', message: 'already used' }] });
    return view(this.#repository.insertPartner(p, this.#clock.now().toISOString()));
  }

  async update(name: string, input: unknown): Promise<PartnerView> {
    this.#require(name);
    const p = await this.#validate(input);
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

  async #validate(input: unknown): Promise<NewPartner> {
    const p = parseOrThrow(partnerInputSchema, input, 'partner');
    const issues: FieldIssue[] = [];
    if (!this.#mailboxes.has(p.mailbox)) {
      const names = [...this.#mailboxes.keys()];
      issues.push({ path: 'mailbox', message: names.length === 0 ? 'no mailbox exists (mail.mailboxes in the config, or POST /api/v1/mail/mailboxes)' : `no such mailbox; there are: ${names.join(', ')}` });
    }
    if (p.format === MailFormat.Smime) {
      if (p.publicKey !== undefined) issues.push({ path: 'publicKey', message: 'only for format openpgp' });
      if (p.certificate === undefined) issues.push({ path: 'certificate', message: 'required for format smime' });
      else this.#checkCertificate(p.certificate, issues);
    } else {
      if (p.certificate !== undefined) issues.push({ path: 'certificate', message: 'only for format smime' });
      if (p.publicKey === undefined) issues.push({ path: 'publicKey', message: 'required for format openpgp' });
      else issues.push(...(await readPartnerKey(p.publicKey, p.legacy, this.#clock.now())).issues.map((message) => ({ path: 'publicKey', message })));
    }
    if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'invalid partner', { issues });
    return {
      name: p.name,
      address: p.address.toLowerCase(),
      format: p.format,
      certificate: p.certificate?.trim() ?? '',
      openpgpKey: p.publicKey?.trim() ?? null,
      legacy: p.legacy,
      mailbox: p.mailbox,
      maxMailBytes: Math.floor(p.maxMailMb * 1024 * 1024),
      routes: p.routes,
    };
  }

  #checkCertificate(certificate: string, issues: FieldIssue[]): void {
    try {
      const cert = new X509Certificate(certificate);
      if (cert.publicKey.asymmetricKeyType !== 'rsa') issues.push({ path: 'certificate', message: 'the certificate must hold an RSA key (we encrypt to it with RSA key transport)' });
      if (new Date(cert.validTo) <= this.#clock.now()) issues.push({ path: 'certificate', message: `the certificate expired on ${new Date(cert.validTo).toISOString()}` });
    } catch (err) {
      issues.push({ path: 'certificate', message: `not a readable certificate: ${(err as Error).message}` });
    }
  }
}

async function pinned(partner: MailPartner): Promise<PinnedPartner> {
  if (partner.format === MailFormat.Smime) return { format: MailFormat.Smime, partner, certificate: cmsCertificate(partner.certificate) };
  const { key, findings } = await readPartnerKey(partner.openpgpKey ?? '', partner.legacy, null);
  if (key === undefined) throw new GatewayError(ErrorCode.Internal, 'the stored OpenPGP key of a partner cannot be read');
  return { format: MailFormat.OpenPgp, partner, key, config: pgpConfig(partner.legacy), findings };
}

async function view(p: MailPartner): Promise<PartnerView> {
  const { maxMailBytes, openpgpKey, ...rest } = p;
  const base = { ...rest, maxMailMb: maxMailBytes / (1024 * 1024), publicKey: openpgpKey };
  if (p.format === MailFormat.OpenPgp) {
    const { key, findings } = await readPartnerKey(openpgpKey ?? '', p.legacy, null);
    const info = key === undefined ? null : { ...(await openPgpKeyInfo(key)), legacyFindings: [...findings.sha1, ...findings.oldKeyTypes] };
    return { ...base, certificateInfo: null, openpgp: info };
  }
  return { ...base, certificateInfo: certificateInfo(new X509Certificate(p.certificate)), openpgp: null };
}
