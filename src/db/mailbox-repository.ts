import type { Database, Row } from './database.ts';

/**
 * A mailbox made through the API, as stored: the secrets only sealed (`enc:v1:...`); sealing and
 * opening them is the caller's (the key is configuration, not the database's).
 */
export interface StoredMailbox {
  name: string;
  address: string;
  smtp: { host: string; port: number; security: 'starttls' | 'tls' };
  pop3: { host: string; port: number; user: string; passwordSealed: string };
  tls: { cert: string; keySealed: string; ca: string };
  smime: { cert: string; keySealed: string };
  openpgp: { keySealed: string; passphraseSealed: string } | null;
  pollSeconds: number;
  createdAt: string;
  updatedAt: string;
}

export type NewStoredMailbox = Omit<StoredMailbox, 'createdAt' | 'updatedAt'>;

function toMailbox(r: Row): StoredMailbox {
  return {
    name: r.name as string,
    address: r.address as string,
    smtp: { host: r.smtp_host as string, port: Number(r.smtp_port), security: r.smtp_security as 'starttls' | 'tls' },
    pop3: { host: r.pop3_host as string, port: Number(r.pop3_port), user: r.pop3_user as string, passwordSealed: r.pop3_password_sealed as string },
    tls: { cert: r.tls_cert as string, keySealed: r.tls_key_sealed as string, ca: r.tls_ca as string },
    smime: { cert: r.smime_cert as string, keySealed: r.smime_key_sealed as string },
    openpgp: r.openpgp_key_sealed === null ? null : { keySealed: r.openpgp_key_sealed as string, passphraseSealed: r.openpgp_passphrase_sealed as string },
    pollSeconds: Number(r.poll_seconds),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

const columns = 'address, smtp_host, smtp_port, smtp_security, pop3_host, pop3_port, pop3_user, pop3_password_sealed, tls_cert, tls_key_sealed, tls_ca, smime_cert, smime_key_sealed, openpgp_key_sealed, openpgp_passphrase_sealed, poll_seconds';

function values(m: NewStoredMailbox): (string | number | null)[] {
  return [m.address, m.smtp.host, m.smtp.port, m.smtp.security, m.pop3.host, m.pop3.port, m.pop3.user, m.pop3.passwordSealed, m.tls.cert, m.tls.keySealed, m.tls.ca, m.smime.cert, m.smime.keySealed, m.openpgp?.keySealed ?? null, m.openpgp?.passphraseSealed ?? null, m.pollSeconds];
}

/** Our mailboxes made through the API. */
export class MailboxRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  all(): StoredMailbox[] {
    return (this.#db.statement('SELECT * FROM mail_mailboxes ORDER BY name').all() as Row[]).map(toMailbox);
  }

  get(name: string): StoredMailbox | undefined {
    const row = this.#db.statement('SELECT * FROM mail_mailboxes WHERE name = ?').get(name) as Row | undefined;
    return row === undefined ? undefined : toMailbox(row);
  }

  insert(m: NewStoredMailbox, now: string): StoredMailbox {
    this.#db.statement(`INSERT INTO mail_mailboxes (name, ${columns}, created_at, updated_at) VALUES (?, ${columns.split(',').map(() => '?').join(', ')}, ?, ?)`).run(m.name, ...values(m), now, now);
    return this.get(m.name) as StoredMailbox;
  }

  update(m: NewStoredMailbox, now: string): StoredMailbox | undefined {
    const set = columns.split(', ').map((c) => `${c} = ?`).join(', ');
    const changes = this.#db.statement(`UPDATE mail_mailboxes SET ${set}, updated_at = ? WHERE name = ?`).run(...values(m), now, m.name).changes;
    return Number(changes) === 0 ? undefined : this.get(m.name);
  }

  delete(name: string): boolean {
    return Number(this.#db.statement('DELETE FROM mail_mailboxes WHERE name = ?').run(name).changes) > 0;
  }
}
