import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ChannelListener } from '../src';
import { testLogger } from '../../../test/support/pipeline';
import { TEST_DATABASE_URL } from '../../../test/support/test-env';

/** Connections of the database listening on `channel`. */
async function listeners(channel: string): Promise<number> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM pg_stat_activity WHERE query = $1', [`LISTEN ${channel}`]);
    return Number(rows[0]!.count);
  } finally {
    await client.end();
  }
}

describe('ChannelListener on a real database', () => {
  const listener = (channel: string, onNotification: (payload: string | undefined) => void = () => undefined) =>
    new ChannelListener({ databaseUrl: TEST_DATABASE_URL, channel, name: 'test listener', logger: testLogger(), onNotification, onListening: () => undefined });

  it('hears NOTIFY, and leaves no connection once stopped', async () => {
    const channel = `test_${randomUUID().replaceAll('-', '')}`;
    const heard: (string | undefined)[] = [];
    const subject = listener(channel, (payload) => heard.push(payload));
    await subject.start();
    const notifier = new Client({ connectionString: TEST_DATABASE_URL });
    await notifier.connect();
    await notifier.query('SELECT pg_notify($1, $2)', [channel, 'hello']);
    await notifier.end();
    for (let deadline = Date.now() + 5_000; heard.length === 0 && Date.now() < deadline; ) await sleep(20);
    expect(heard).toEqual(['hello']);
    expect(await listeners(channel)).toBe(1);
    await subject.stop();
    expect(await listeners(channel)).toBe(0);
  });

  it('stopped while it is still connecting: the connection it was opening is closed too', async () => {
    const channel = `test_${randomUUID().replaceAll('-', '')}`;
    const subject = listener(channel);
    const starting = subject.start();
    await subject.stop();
    await starting;
    await sleep(200);
    expect(await listeners(channel)).toBe(0);
  });
});
