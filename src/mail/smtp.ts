import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Mailbox } from './identity.ts';

/**
 * How a send ended, as the job needs it: sent, or failed for good (5xx, TLS refused, no STARTTLS),
 * or worth another try later (4xx, connection trouble).
 */
export type SmtpOutcome = { kind: 'sent'; response: string } | { kind: 'permanent'; reason: string } | { kind: 'transient'; reason: string };

const timeouts = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000 };

/** TLS always: implicit (465) or STARTTLS required, never plain text; our client certificate; the server verified against our CA. */
function connectionOptions(mailbox: Mailbox): SMTPConnection.Options {
  const { smtp } = mailbox.config;
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: false,
    tls: { ca: mailbox.tls.ca, cert: mailbox.tls.cert, key: mailbox.tls.key, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(net.isIP(smtp.host) === 0 ? { servername: smtp.host } : {}) },
    ...timeouts,
  };
}

interface SmtpError extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
}

/** Sorts an error of nodemailer into the three outcomes; the server's own text is kept. */
export function classifySmtpError(err: unknown): SmtpOutcome {
  const e = err as SmtpError;
  const text = (e.response ?? e.message ?? String(err)).trim();
  // Refused or unknown STARTTLS: we never go on in plain text, and asking again will not help.
  if (e.command === 'STARTTLS' || e.code === 'ETLS') return { kind: 'permanent', reason: `TLS required, but the server does not offer STARTTLS: ${text}` };
  if (typeof e.responseCode === 'number') return e.responseCode >= 500 ? { kind: 'permanent', reason: text } : { kind: 'transient', reason: text };
  if (e.code === 'ESOCKET' && /certificate|self[- ]signed|verify|altnames|CERT_/i.test(e.message ?? '')) return { kind: 'permanent', reason: `the server's certificate is not trusted: ${e.message}` };
  if (e.code === 'EMESSAGE') return { kind: 'permanent', reason: text };
  return { kind: 'transient', reason: text };
}

/** Sends a finished mail file to one recipient. */
export async function sendMailFile(mailbox: Mailbox, file: string, recipient: string): Promise<SmtpOutcome> {
  const transport = nodemailer.createTransport({ ...connectionOptions(mailbox), disableFileAccess: false, disableUrlAccess: true });
  try {
    const info = await transport.sendMail({ envelope: { from: mailbox.config.address, to: [recipient] }, raw: { path: file } });
    if (info.rejected.length > 0) return { kind: 'permanent', reason: `recipient refused: ${String(info.response)}` };
    return { kind: 'sent', response: String(info.response) };
  } catch (err) {
    return classifySmtpError(err);
  } finally {
    transport.close();
  }
}

/** What a probe of our SMTP server found: the largest mail it takes, and its certificate. */
export interface SmtpProbe {
  /** EHLO SIZE, or null when the server names none. */
  maxSize: number | null;
  /** The server's certificate as presented over TLS (PEM), for the expiry report. */
  certificate: string | null;
}

/**
 * Connects as a send would (TLS and client certificate included), reads what the server announces
 * and presents, and quits.
 */
export async function probeServer(mailbox: Mailbox): Promise<SmtpProbe> {
  const connection = new SMTPConnection(connectionOptions(mailbox));
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect(() => resolve());
    });
    // nodemailer reads SIZE from the EHLO answer but does not publish it; the socket is TLS by now.
    const internals = connection as unknown as { _maxAllowedSize?: number; _socket?: Partial<TLSSocket> };
    const size = internals._maxAllowedSize;
    const raw = internals._socket?.getPeerCertificate?.()?.raw;
    return { maxSize: typeof size === 'number' && size > 0 ? size : null, certificate: raw === undefined ? null : new X509Certificate(raw).toString() };
  } finally {
    connection.quit();
  }
}
