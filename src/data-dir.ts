import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, GatewayError } from './domain/errors.ts';

/** Where each kind of state lives inside the one data directory. */
export interface DataLayout {
  root: string;
  database: string;
  archive: string;
  derived: string;
  incoming: string;
  logs: string;
  backups: string;
  /** The e-mail relay: received mails as they arrived (`inbox/`), mails being built and opened. */
  mail: string;
}

export function dataLayout(root: string): DataLayout {
  return {
    root,
    database: path.join(root, 'gateway.db'),
    archive: path.join(root, 'archive'),
    derived: path.join(root, 'derived'),
    incoming: path.join(root, 'incoming'),
    logs: path.join(root, 'logs'),
    backups: path.join(root, 'backups'),
    mail: path.join(root, 'mail'),
  };
}

/** Creates the directories and fails early, with the path, if the data directory is not writable. */
export function prepareDataDir(layout: DataLayout): void {
  try {
    for (const dir of [layout.root, layout.archive, layout.derived, layout.incoming, layout.logs, layout.backups, layout.mail]) {
      mkdirSync(dir, { recursive: true });
    }
    accessSync(layout.root, constants.W_OK);
  } catch (err) {
    throw new GatewayError(ErrorCode.Unavailable, `the data directory ${layout.root} is not usable: ${(err as Error).message}; set GATEWAY_DATA_DIR or dataDir to a writable directory`, { cause: err });
  }
}
