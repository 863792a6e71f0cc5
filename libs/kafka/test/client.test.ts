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
