import type { Database } from './database.ts';

export const PartialState = { Waiting: 'waiting', Assembled: 'assembled', Expired: 'expired' } as const;
export type PartialState = (typeof PartialState)[keyof typeof PartialState];

export interface PartialSet {
  id: number;
  mailbox: string;
  sender: string;
  partialId: string;
  /** Known once the fragment that carries `total` (at least the last) has arrived. */
  total: number | null;
  received: number;
  state: PartialState;
  assembledInbound: number | null;
  firstAt: string;
  updatedAt: string;
}

export interface Fragment {
  number: number;
  inboundId: number;
  rawPath: string;
  bodyStart: number;
}

type Row = Record<string, unknown>;

function toPartial(r: Row): PartialSet {
  return {
    id: r.id as number,
    mailbox: r.mailbox as string,
    sender: r.sender as string,
    partialId: r.partial_id as string,
    total: r.total as number | null,
    received: r.received as number,
    state: r.state as PartialState,
    assembledInbound: r.assembled_inbound as number | null,
    firstAt: r.first_at as string,
    updatedAt: r.updated_at as string,
  };
}

const select = 'SELECT p.*, (SELECT COUNT(*) FROM mail_fragments f WHERE f.partial_ref = p.id) AS received FROM mail_partials p';

/** Received message/partial sets and their fragments. */
export class MailPartialRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Records a fragment (its set made when new); false when this number of the set is already there. */
  addFragment(f: { mailbox: string; sender: string; partialId: string; total: number | null; fragment: Fragment }, now: string): { set: PartialSet; added: boolean } {
    const db = this.#db;
    return db.transaction((tx) => {
      db.statement('INSERT INTO mail_partials (mailbox, sender, partial_id, total, state, first_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox, sender, partial_id) DO NOTHING', tx).run(f.mailbox, f.sender, f.partialId, f.total, PartialState.Waiting, now, now);
      const id = (db.statement('SELECT id FROM mail_partials WHERE mailbox = ? AND sender = ? AND partial_id = ?', tx).get(f.mailbox, f.sender, f.partialId) as { id: number }).id;
      if (f.total !== null) db.statement('UPDATE mail_partials SET total = ?, updated_at = ? WHERE id = ?', tx).run(f.total, now, id);
      const added = Number(db.statement('INSERT INTO mail_fragments (partial_ref, number, inbound_id, raw_path, body_start) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', tx).run(id, f.fragment.number, f.fragment.inboundId, f.fragment.rawPath, f.fragment.bodyStart).changes) > 0;
      return { set: this.partial(id) as PartialSet, added };
    });
  }

  partial(id: number): PartialSet | undefined {
    const row = this.#db.statement(`${select} WHERE p.id = ?`).get(id) as Row | undefined;
    return row === undefined ? undefined : toPartial(row);
  }

  fragments(partialRef: number): Fragment[] {
    return (this.#db.statement('SELECT * FROM mail_fragments WHERE partial_ref = ? ORDER BY number').all(partialRef) as Row[]).map((r) => ({ number: r.number as number, inboundId: r.inbound_id as number, rawPath: r.raw_path as string, bodyStart: r.body_start as number }));
  }

  /** The set a reassembled mail was made from. */
  byAssembledInbound(inboundId: number): PartialSet | undefined {
    const row = this.#db.statement(`${select} WHERE p.assembled_inbound = ?`).get(inboundId) as Row | undefined;
    return row === undefined ? undefined : toPartial(row);
  }

  waiting(mailbox: string): PartialSet[] {
    return (this.#db.statement(`${select} WHERE p.mailbox = ? AND p.state = 'waiting' ORDER BY p.id`).all(mailbox) as Row[]).map(toPartial);
  }

  markAssembled(id: number, inboundId: number, now: string): void {
    this.#db.statement('UPDATE mail_partials SET state = ?, assembled_inbound = ?, updated_at = ? WHERE id = ?').run(PartialState.Assembled, inboundId, now, id);
  }

  expireNow(id: number, now: string): void {
    this.#db.statement('UPDATE mail_partials SET state = ?, updated_at = ? WHERE id = ?').run(PartialState.Expired, now, id);
  }

  /** Sets still waiting whose first fragment came before `cutoff` become expired; returns them. */
  expire(mailbox: string, cutoff: string, now: string): PartialSet[] {
    const due = (this.#db.statement(`${select} WHERE p.mailbox = ? AND p.state = 'waiting' AND p.first_at < ?`).all(mailbox, cutoff) as Row[]).map(toPartial);
    for (const p of due) this.#db.statement('UPDATE mail_partials SET state = ?, updated_at = ? WHERE id = ?').run(PartialState.Expired, now, p.id);
    return due.map((p) => ({ ...p, state: PartialState.Expired, updatedAt: now }));
  }

  list(q: { state?: PartialState; limit: number; offset: number }): PartialSet[] {
    return (this.#db.statement(`${select} WHERE (?1 IS NULL OR p.state = ?1) ORDER BY p.id DESC LIMIT ?2 OFFSET ?3`).all(q.state ?? null, q.limit, q.offset) as Row[]).map(toPartial);
  }

  counts(): Record<PartialState, number> {
    const out: Record<PartialState, number> = { waiting: 0, assembled: 0, expired: 0 };
    for (const r of this.#db.statement('SELECT state, COUNT(*) AS n FROM mail_partials GROUP BY state').all() as { state: PartialState; n: number }[]) out[r.state] = r.n;
    return out;
  }
}
