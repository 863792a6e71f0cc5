/**
 * Local infrastructure without Docker: a single-node KRaft Kafka broker and
 * S3Proxy (filesystem backend), run from Maven Central jars, and a Postgres
 * from the binaries npm ships. See stack.ts for startStack(), the usual
 * entry point.
 */
export { ensureJars, type EnsureJarsOptions, type StackClasspaths } from './jars';
export { KafkaBroker, probeKafka, type KafkaBrokerOptions } from './kafka-server';
export { S3ProxyServer, type S3ClientSettings, type S3ProxyOptions } from './s3proxy-server';
export { PostgresServer, type PostgresOptions } from './postgres-server';
export { STACK_PRESETS } from './presets';
export { startStack, type Stack, type StackEnv, type StackOptions } from './stack';
export { installSignalHandlers, stopAllServers } from './process';
export { isPortOpen } from './net';
export {
  JarFetchError,
  MissingToolError,
  PortInUseError,
  PostgresUnavailableError,
  ServerStartError,
  StackError,
  type PortOccupant,
  type StackErrorCode,
  type StackService,
} from './errors';
