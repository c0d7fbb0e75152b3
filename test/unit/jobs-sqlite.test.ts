import { silentLogger } from '../../src/log.ts';
import { Database } from '../../src/db/index.ts';
import { SqliteJobQueue } from '../../src/jobs/index.ts';
import { jobQueueContract } from '../contract/job-queue.ts';

jobQueueContract('embedded SQLite', async ({ clock, dbFile, definitions, concurrency }) => {
  const db = Database.open({ file: dbFile });
  const queue = new SqliteJobQueue({ db, clock, log: silentLogger(), timezone: 'Europe/Berlin', ...(concurrency === undefined ? {} : { concurrency }) });
  for (const d of definitions) queue.register(d);
  let stopped = false;
  return {
    queue,
    db,
    stop: async (deadline = Date.now() + 5000) => {
      if (stopped) return;
      stopped = true;
      await queue.stop(deadline);
      db.close();
    },
  };
});
