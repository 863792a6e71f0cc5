import fs from 'node:fs/promises';
import path from 'node:path';
import { KafkaBroker, STACK_PRESETS } from '../../infra/stack';
import { TEST_STACK_SLOT } from './test-env';

/**
 * A Kafka broker of a test's own, for tests that stop or kill it: its ports
 * (`basePort` and the next, moved by the test stack slot) and data directory
 * are its alone. `start()` begins on an empty data directory.
 */
export function ownBroker(name: string, basePort: number): { broker: KafkaBroker; start(): Promise<void> } {
  const port = basePort + 10 * TEST_STACK_SLOT;
  const broker = new KafkaBroker({
    dataDir: path.join(`${STACK_PRESETS.test.dataDir}-${name}-${TEST_STACK_SLOT}`, 'kafka'),
    port,
    controllerPort: port + 1,
    onProgress: () => undefined,
  });
  return {
    broker,
    async start() {
      await fs.rm(path.dirname(broker.dataDir), { recursive: true, force: true });
      await broker.start();
    },
  };
}
