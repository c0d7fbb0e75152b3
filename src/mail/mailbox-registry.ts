import type { Mailbox } from './identity.ts';
import type { MailInbox } from './inbox.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';

/**
 * The one owner of our mailboxes as the relay runs them: each mailbox, its OpenPGP key pair and its
 * inbox (poller). Sending, receiving, partners, the expiry report and health read these maps, which
 * change as mailboxes are made, changed and deleted through the API. Changes run one after the
 * other, so a mailbox never has two pollers on its POP3 account.
 */
export class MailboxRegistry {
  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #openpgp = new Map<string, OpenPgpIdentity>();
  readonly #inboxes = new Map<string, MailInbox>();
  readonly #newInbox: (mailbox: Mailbox) => MailInbox;
  #started = false;
  #changes: Promise<void> = Promise.resolve();

  constructor(newInbox: (mailbox: Mailbox) => MailInbox) {
    this.#newInbox = newInbox;
  }

  get mailboxes(): ReadonlyMap<string, Mailbox> {
    return this.#mailboxes;
  }

  /** Our OpenPGP key pairs by mailbox name. */
  get openpgp(): ReadonlyMap<string, OpenPgpIdentity> {
    return this.#openpgp;
  }

  get inboxes(): ReadonlyMap<string, MailInbox> {
    return this.#inboxes;
  }

  /**
   * Adds a mailbox, or replaces the one of that name: its poller is stopped (a poll under way ends
   * first) and the new one started once the relay runs.
   */
  put(mailbox: Mailbox, openpgp: OpenPgpIdentity | undefined): Promise<void> {
    return this.#change(async () => {
      const name = mailbox.config.name;
      await this.#inboxes.get(name)?.stop();
      const inbox = this.#newInbox(mailbox);
      this.#mailboxes.set(name, mailbox);
      if (openpgp === undefined) this.#openpgp.delete(name);
      else this.#openpgp.set(name, openpgp);
      this.#inboxes.set(name, inbox);
      if (this.#started) inbox.start();
    });
  }

  /** Removes a mailbox: from here on nothing is sent from it; its poller is stopped. */
  remove(name: string): Promise<void> {
    return this.#change(async () => {
      const inbox = this.#inboxes.get(name);
      this.#mailboxes.delete(name);
      this.#openpgp.delete(name);
      this.#inboxes.delete(name);
      await inbox?.stop();
    });
  }

  start(): Promise<void> {
    return this.#change(async () => {
      this.#started = true;
      for (const inbox of this.#inboxes.values()) inbox.start();
    });
  }

  stop(): Promise<void> {
    return this.#change(async () => {
      this.#started = false;
      await Promise.all([...this.#inboxes.values()].map((i) => i.stop()));
    });
  }

  #change(step: () => Promise<void>): Promise<void> {
    const next = this.#changes.then(step);
    // A failed change must not block the ones after it; its caller gets the error.
    this.#changes = next.catch(() => undefined);
    return next;
  }
}
