import type { Stack } from '../../infra/stack';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __pipelineTestStack?: Stack }).__pipelineTestStack?.stop();
}
