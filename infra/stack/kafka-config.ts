import crypto from 'node:crypto';

export interface KafkaListenerSettings {
  host: string;
  port: number;
  controllerPort: number;
  logDir: string;
}

/** server.properties of the single-node local broker, rewritten on every start. */
export function kafkaServerProperties({ host, port, controllerPort, logDir }: KafkaListenerSettings): string {
  return `# Written by infra/stack/kafka-config.ts on every start; change it there.
# Single-node KRaft: this JVM is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}

# Topics are created on purpose (infra setup), never by a typo in a client.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# One partition each instead of 50: much faster first consumer-group join,
# and far fewer files, on a single node they buy nothing.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Lets tests use short consumer session timeouts (default minimum is 6 s).
group.min.session.timeout.ms=1000
# After a crash (kill -9) the restarted node waits for its previous broker
# registration to expire before it can serve: 9 s by default, 4 s here.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000

# Dev-box sizing: 2 cores, modest disk.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# Small segments so retention can actually delete; bounded size and age per partition.
log.segment.bytes=16777216
log.retention.bytes=268435456
log.retention.hours=72
log.retention.check.interval.ms=60000
# Index files are preallocated at this size per segment (default 10 MB).
log.index.size.max.bytes=1048576
# The compaction dedupe buffer is taken from the heap (default 128 MB).
log.cleaner.dedupe.buffer.size=16777216
`;
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64; Kafka avoids ones starting with '-'. */
export function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
