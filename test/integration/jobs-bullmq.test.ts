import { Database } from '../../src/db/index.ts';
import { BullmqJobQueue } from '../../src/jobs/index.ts';
import { silentLogger } from '../../src/log.ts';
import { jobQueueContract } from '../contract/job-queue.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

// At module level: a helper's `after` registered inside a `before` hook would run right after it.
const redis: RedisServer = await startRedis();

jobQueueContract('BullMQ on Redis', async ({ clock, dbFile, definitions, concurrency, namespace }) => {
  const db = Database.open({ file: dbFile });
  const queue = new BullmqJobQueue({
    db,
    clock,
    log: silentLogger(),
    timezone: 'Europe/Berlin',
    redisUrl: redis.url,
    prefix: `t-${namespace}`,
    ...(concurrency === undefined ? {} : { concurrency }),
  });
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
