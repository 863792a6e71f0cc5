import { createKafka } from '@video-pipeline/kafka';
import { createLogger } from '@video-pipeline/logging';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

describe('createKafka', () => {
  it('logs an error response that kafkajs throws to its caller at debug, not at error', async () => {
    const lines: { level: string; msg: string; namespace?: string; error?: string }[] = [];
    const logger = createLogger('test', { level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const prefix = uniquePrefix('client-log');
    const admin = createKafka(testConfig(prefix).kafka, logger, { retry: { retries: 0 } }).admin();
    await admin.connect();
    try {
      await expect(admin.fetchTopicOffsets(`${prefix}missing`)).rejects.toThrow('does not host this topic-partition');
    } finally {
      await admin.disconnect();
    }

    const responses = lines.filter((line) => line.namespace === 'Connection' && line.msg.startsWith('Response Metadata'));
    expect(responses).toEqual([expect.objectContaining({ level: 'debug', error: 'This server does not host this topic-partition' })]);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});

describe('a kafkajs client on Node 24', () => {
  it('never asks for a negative timer, which Node 23+ warns about in every process', async () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    const admin = createKafka(testConfig(uniquePrefix('client-timers')).kafka, createLogger('test', { level: 'silent' })).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.listTopics();
      const delays = setTimeoutSpy.mock.calls.map(([, delay]) => delay);
      // The request queue schedules a check after every response it reads.
      expect(delays.length).toBeGreaterThan(0);
      expect(delays.filter((delay) => typeof delay === 'number' && delay < 0)).toEqual([]);
    } finally {
      setTimeoutSpy.mockRestore();
      await admin.disconnect();
    }
  });
});

describe('a kafkajs client from our config', () => {
  it('gives a broker connection the configured time to open, not kafkajs\' 1 s', async () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    const config = { ...testConfig(uniquePrefix('client-connect')).kafka, connectionTimeoutMs: 4_321 };
    const admin = createKafka(config, createLogger('test', { level: 'silent' })).admin();
    try {
      await admin.connect();
      const delays = setTimeoutSpy.mock.calls.map(([, delay]) => delay);
      expect(delays).toContain(4_321);
      expect(delays).not.toContain(1_000);
    } finally {
      setTimeoutSpy.mockRestore();
      await admin.disconnect();
    }
  });
});
