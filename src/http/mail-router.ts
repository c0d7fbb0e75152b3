import { Router } from 'express';
import { z } from 'zod';
import { InboundState, OutboundState, PartialState } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { attachmentsSchema, decodeAttachments, maxDocumentsTotalBytes, type MailRelay } from '../mail/index.ts';

const page = { limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0) };
const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a UID is digits separated by dots').max(64);
const id = z.coerce.number().int().positive();

const outboundQuery = z
  .object({ state: z.enum(Object.values(OutboundState) as [string, ...string[]]).optional(), partner: z.string().min(1).optional(), study: uid.optional(), ...page })
  .strict();
const inboundQuery = z.object({ state: z.enum(Object.values(InboundState) as [string, ...string[]]).optional(), mailbox: z.string().min(1).optional(), ...page }).strict();
/** Received sets (a partner's send of one or more mails): all, or only those still missing mails. */
const setQuery = z.object({ incomplete: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), ...page }).strict();
/** Received message/partial sets: waiting for fragments, assembled, or expired incomplete. */
const partialQuery = z.object({ state: z.enum(Object.values(PartialState) as [string, ...string[]]).optional(), ...page }).strict();
/** The whole study, or only the chosen instances (SOP Instance UIDs); PDFs to go with it. */
const sendBody = z.object({ partner: z.string().min(1).max(100), instances: z.array(uid).min(1).max(100_000).optional(), attachments: attachmentsSchema.optional() }).strict();

/** The send request's own body limit (`jsonLimits` of the HTTP app): its PDFs come in base64 (4/3 of their size) inside the JSON. */
export const sendBodyLimit = `${Math.ceil((maxDocumentsTotalBytes * 4) / 3 / (1024 * 1024)) + 4}mb`;

function requireRelay(relay: MailRelay | undefined): MailRelay {
  if (relay === undefined) throw new GatewayError(ErrorCode.NotFound, 'the e-mail relay is not configured (mail.mailboxes)');
  return relay;
}

/**
 * `/api/v1/mail`: partners (CRUD), our mailboxes (CRUD for those made here; those of the config file
 * read-only; never a key, password or passphrase in an answer),
 * mails sent (`messages`, with retry) and received (`received`), the certificates and their expiry.
 */
export function mailRouter(relay: MailRelay): Router {
  const router = Router();
  router.get('/partners', async (_req, res) => {
    res.json({ items: await relay.partners.list() });
  });
  router.post('/partners', async (req, res) => {
    const partner = await relay.partners.create(req.body);
    res.status(201).location(`${req.baseUrl}/partners/${encodeURIComponent(partner.name)}`).json(partner);
  });
  router.get('/partners/:name', async (req, res) => {
    res.json(await relay.partners.get(req.params.name));
  });
  router.put('/partners/:name', async (req, res) => {
    res.json(await relay.partners.update(req.params.name, req.body));
  });
  router.delete('/partners/:name', (req, res) => {
    relay.partners.delete(req.params.name);
    res.status(204).end();
  });
  router.get('/mailboxes', (_req, res) => {
    res.json({ items: relay.mailboxAdmin.list() });
  });
  router.post('/mailboxes', async (req, res) => {
    const mailbox = await relay.mailboxAdmin.create(req.body);
    res.status(201).location(`${req.baseUrl}/mailboxes/${encodeURIComponent(mailbox.name)}`).json(mailbox);
  });
  router.get('/mailboxes/:name', (req, res) => {
    res.json(relay.mailboxAdmin.get(req.params.name));
  });
  router.put('/mailboxes/:name', async (req, res) => {
    res.json(await relay.mailboxAdmin.update(req.params.name, req.body));
  });
  router.delete('/mailboxes/:name', async (req, res) => {
    await relay.mailboxAdmin.delete(req.params.name);
    res.status(204).end();
  });
  router.post('/mailboxes/:name/poll', async (req, res) => {
    const inbox = relay.inboxes.get(req.params.name);
    if (inbox === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mailbox');
    const { serverCertificate: _, ...report } = await inbox.poll();
    res.json(report);
  });
  router.get('/certificates', (_req, res) => {
    res.json({ items: relay.certificates() });
  });
  router.get('/messages', (req, res) => {
    const q = parseOrThrow(outboundQuery, req.query, 'query');
    const overdue = new Set(relay.overdueReceipts().map((m) => m.id));
    res.json({ items: relay.repository.listOutbound(q as Parameters<typeof relay.repository.listOutbound>[0]).map((m) => ({ ...m, receiptOverdue: overdue.has(m.id) })), limit: q.limit, offset: q.offset });
  });
  router.get('/messages/:id', (req, res) => {
    const mail = relay.repository.outbound(parseOrThrow(id, req.params.id, 'id'));
    if (mail === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mail');
    res.json(mail);
  });
  router.post('/messages/:id/retry', async (req, res) => {
    res.json(await relay.outbound.retry(parseOrThrow(id, req.params.id, 'id')));
  });
  router.post('/messages/:id/cancel', async (req, res) => {
    res.json(await relay.outbound.cancel(parseOrThrow(id, req.params.id, 'id')));
  });
  router.get('/received', (req, res) => {
    const q = parseOrThrow(inboundQuery, req.query, 'query');
    res.json({ items: relay.repository.listInbound(q as Parameters<typeof relay.repository.listInbound>[0]).map(({ rawPath: _, ...rest }) => rest), limit: q.limit, offset: q.offset });
  });
  router.get('/sets', (req, res) => {
    const q = parseOrThrow(setQuery, req.query, 'query');
    res.json({ items: relay.receivedSets(q), limit: q.limit, offset: q.offset });
  });
  router.get('/partials', (req, res) => {
    const q = parseOrThrow(partialQuery, req.query, 'query');
    res.json({ items: relay.partials.list(q as Parameters<typeof relay.partials.list>[0]), limit: q.limit, offset: q.offset });
  });
  router.post('/received/:id/reprocess', async (req, res) => {
    const mail = relay.repository.inboundById(parseOrThrow(id, req.params.id, 'id'));
    const inbox = mail === undefined ? undefined : relay.inboxes.get(mail.mailbox);
    if (mail === undefined || inbox === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such received mail (or its mailbox is gone)');
    const { rawPath: _, ...rest } = await inbox.reprocess(mail.id);
    res.json(rest);
  });
  router.get('/received/:id', (req, res) => {
    const mail = relay.repository.inboundById(parseOrThrow(id, req.params.id, 'id'));
    if (mail === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mail');
    const { rawPath: _, ...rest } = mail;
    res.json(rest);
  });
  return router;
}

/**
 * `POST /api/v1/studies/{StudyInstanceUID}/send` with `{"partner": name}`, optionally `instances` and
 * `attachments` (PDFs): queues the study's mails.
 */
export function studySendRouter(relay: MailRelay | undefined): Router {
  const router = Router();
  router.post('/:studyUid/send', async (req, res) => {
    const mail = requireRelay(relay);
    const studyInstanceUid = parseOrThrow(uid, req.params.studyUid, 'study UID');
    const body = parseOrThrow(sendBody, req.body, 'send request');
    const documents = decodeAttachments(body.attachments ?? []);
    const mails = await mail.outbound.sendStudy({ studyInstanceUid, partner: body.partner, trigger: 'api', correlationId: req.correlationId, documents, ...(body.instances === undefined ? {} : { instances: body.instances }) });
    res.status(202).json({ items: mails });
  });
  return router;
}
