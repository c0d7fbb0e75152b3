import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { MailInbox, type InboxDeps } from '../../src/mail/inbox.ts';
import { tempDir } from './temp.ts';

/**
 * A mailbox's inbox on its own, for tests that drive it directly: what the test cares about is given,
 * the rest defaults (no OpenPGP key, a clock that never moves, so it polls only when told; imports
 * recorded in `imported`, bytes as they came).
 */
export function testInbox(deps: Pick<InboxDeps, 'mailbox' | 'mail' | 'partners' | 'partials'> & Partial<InboxDeps>): { inbox: MailInbox; imported: Buffer[] } {
  const imported: Buffer[] = [];
  const dataDir = tempDir('gw-mail-inbox-');
  const inbox = new MailInbox(
    {
      openpgp: new Map(),
      implementation: { classUid: '1.2.3.4', versionName: 'TEST' },
      partialTimeoutMs: 3_600_000,
      importFile: async (file) => {
        imported.push(readFileSync(file));
        return { kind: 'stored', instanceId: imported.length };
      },
      inboxDir: path.join(dataDir, 'inbox'),
      workDir: path.join(dataDir, 'work'),
      maxInboundBytes: 100 * 1024 * 1024,
      maxParts: 100,
      clock: new ManualClock(new Date()),
      log: silentLogger(),
      ...deps,
    },
    3_600_000,
  );
  return { inbox, imported };
}
