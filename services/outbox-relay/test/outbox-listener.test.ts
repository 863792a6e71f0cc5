import { createLogger } from '@video-pipeline/logging';
import { silentServer } from '../../../test/support/network';
import { OutboxListener } from '../src/outbox-listener';

describe('the outbox listener', () => {
  it('gives up connecting to a database that hangs and retries, so the relay can start and poll', async () => {
    const hung = await silentServer();
    const lines: { msg: string; attempt?: number; err?: { message: string } }[] = [];
    const logger = createLogger('test', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const listener = new OutboxListener(`postgresql://postgres@127.0.0.1:${hung.port}/hung?connect_timeout=1`, () => undefined, logger);
    try {
      const started = Date.now();
      await listener.start(); // the relay's main awaits this before it starts polling
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(lines).toEqual([expect.objectContaining({ msg: 'outbox listener could not connect; retrying', attempt: 0, err: expect.objectContaining({ message: expect.stringMatching(/timeout/i) }) })]);
    } finally {
      await listener.stop();
      await hung.close();
    }
  });
});
