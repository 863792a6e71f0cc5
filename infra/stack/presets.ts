import path from 'node:path';
import { DATA_ROOT } from './paths';

/** Ports and folders of the two stacks that run side by side. */
export const STACK_PRESETS = {
  /** `npm start`: the usual ports. */
  dev: {
    dataDir: DATA_ROOT,
    kafka: { port: 9092, controllerPort: 9093 },
    s3: { port: 9000 },
    postgres: { port: 9432, database: 'video_pipeline' },
  },
  /** Tests: separate ports and data, so they never touch the dev stack. */
  test: {
    dataDir: path.join(DATA_ROOT, 'test'),
    kafka: { port: 19092, controllerPort: 19093 },
    s3: { port: 19000 },
    postgres: { port: 19432, database: 'video_pipeline_test' },
  },
} as const;

