/**
 * Fetches the Kafka and S3Proxy jars into .cache/jars (no-op when cached).
 * Used by .ci/run so the download is not counted against a test's timeout.
 *   npx tsx infra/stack/fetch-cli.ts
 */
import { ensureJars } from './jars';

ensureJars()
  .then(({ kafkaClasspath, s3proxyClasspath }) => {
    process.stdout.write(`kafka:   ${kafkaClasspath}\ns3proxy: ${s3proxyClasspath}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
