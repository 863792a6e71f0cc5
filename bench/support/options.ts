/**
 * Command-line options of `npm run bench`, parsed and defaulted once here;
 * benchmarks receive the resulting object and read nothing else.
 */

export const BENCHMARK_NAMES = ['upload-memory', 'upload-throughput', 'event-latency', 'consumer-throughput', 'consumer-share', 'transcode-ladder', 'thumbnail-set', 'sse-fanout', 'upload-to-ready', 'webhook-fanout', 'upload-tus', 'upload-direct'] as const;
export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

export interface BenchOptions {
  /** Benchmarks to run, in this order. Default: all. */
  only: BenchmarkName[];
  /** upload-memory: size of the streamed upload. Default 1024 MiB. */
  uploadMib: number;
  /** upload-throughput: size of each upload. Default 256 MiB. */
  throughputMib: number;
  /** upload-tus: size of the tus upload. Default 2048 MiB. */
  tusMib: number;
  /** upload-tus: tus-js-client's PATCH size (`chunkSize`). Default 64 MiB, as the README's example; one not a multiple of 8 MiB leaves a tail each PATCH. */
  tusChunkMib: number;
  /** upload-direct: size of the direct upload. Default 1024 MiB. */
  directMib: number;
  /** upload-throughput: timed runs per path (API and baseline, alternating). Default 5. */
  throughputRuns: number;
  /** event-latency: events per path (outbox and direct). Default 200. */
  events: number;
  /** event-latency: sending rate. Default 20/s. */
  eventsPerSecond: number;
  /** consumer-throughput: records in the pre-filled topic. Default 20 000. */
  consumerEvents: number;
  /** consumer-throughput: rounds of all consumer variants (median reported). Default 3. */
  consumerRounds: number;
  /** consumer-share: events, each for a short clip. Default 20. */
  shareEvents: number;
  /** consumer-share: a module exporting a group's `makeHandlers(deps)`; default a stand-in that runs ffmpeg. */
  handlersModule?: string;
  /** transcode-ladder, thumbnail-set, upload-to-ready: seconds of the 1080p30 source. Default 60. */
  mediaSeconds: number;
  /** transcode-ladder, thumbnail-set: rounds (median reported). Default 3. */
  mediaRounds: number;
  /** sse-fanout: Server-Sent Events streams open on one video. Default 200. */
  watchers: number;
  /** webhook-fanout: events per round, each to every subscription. Default 30. */
  webhookEvents: number;
  /** webhook-fanout: ms between two events in the latency rounds (each event is 100 deliveries). Default 1000. */
  webhookIntervalMs: number;
  /** webhook-fanout: rounds per variant (with and without a dead endpoint, alternating). Default 2. */
  webhookRounds: number;
  /** Kafka PLAINTEXT port of the bench stack; the controller uses port + 1. Default 29092. */
  kafkaPort: number;
  /** s3proxy port of the bench stack. Default 29000. */
  s3Port: number;
  /** Database the bench recreates on every run. */
  databaseUrl: string;
  /** upload-memory, upload-throughput: also measure the upload API as it was at this commit, in the same run. */
  compareApi?: string;
}

const defaults: Omit<BenchOptions, 'only'> = {
  uploadMib: 1024,
  throughputMib: 256,
  tusMib: 2048,
  tusChunkMib: 64,
  directMib: 1024,
  throughputRuns: 5,
  events: 200,
  eventsPerSecond: 20,
  consumerEvents: 20_000,
  consumerRounds: 3,
  shareEvents: 20,
  mediaSeconds: 60,
  mediaRounds: 3,
  watchers: 200,
  webhookEvents: 30,
  webhookIntervalMs: 1_000,
  webhookRounds: 2,
  kafkaPort: 29_092,
  s3Port: 29_000,
  databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/video_pipeline_bench',
};

/** `--quick`: every size small enough for a smoke run of the whole suite in about a minute. */
const quick: Partial<BenchOptions> = {
  uploadMib: 128,
  throughputMib: 64,
  tusMib: 128,
  directMib: 64,
  throughputRuns: 2,
  events: 60,
  consumerEvents: 5_000,
  consumerRounds: 1,
  shareEvents: 5,
  mediaSeconds: 10,
  mediaRounds: 1,
  webhookEvents: 10,
  webhookRounds: 1,
};

type NumericOption = { [K in keyof BenchOptions]-?: BenchOptions[K] extends number ? K : never }[keyof BenchOptions];

const numericFlags: Record<string, NumericOption> = {
  '--upload-mib': 'uploadMib',
  '--throughput-mib': 'throughputMib',
  '--throughput-runs': 'throughputRuns',
  '--tus-mib': 'tusMib',
  '--tus-chunk-mib': 'tusChunkMib',
  '--direct-mib': 'directMib',
  '--events': 'events',
  '--events-per-second': 'eventsPerSecond',
  '--consumer-events': 'consumerEvents',
  '--consumer-rounds': 'consumerRounds',
  '--share-events': 'shareEvents',
  '--media-seconds': 'mediaSeconds',
  '--media-rounds': 'mediaRounds',
  '--watchers': 'watchers',
  '--webhook-events': 'webhookEvents',
  '--webhook-rounds': 'webhookRounds',
  '--webhook-interval-ms': 'webhookIntervalMs',
  '--kafka-port': 'kafkaPort',
  '--s3-port': 's3Port',
};

export const USAGE = `usage: npm run bench -- [options]

  --only <name>[,<name>...]   run only these (${BENCHMARK_NAMES.join(', ')})
  --quick                     small sizes for a smoke run
  --upload-mib <n>            upload-memory: upload size (default ${defaults.uploadMib})
  --throughput-mib <n>        upload-throughput: upload size (default ${defaults.throughputMib})
  --throughput-runs <n>       upload-throughput: runs per path (default ${defaults.throughputRuns})
  --tus-mib <n>               upload-tus: tus upload size (default ${defaults.tusMib})
  --direct-mib <n>            upload-direct: direct upload size (default ${defaults.directMib})
  --events <n>                event-latency: events per path (default ${defaults.events})
  --events-per-second <n>     event-latency: send rate (default ${defaults.eventsPerSecond})
  --consumer-events <n>       consumer-throughput: pre-filled records (default ${defaults.consumerEvents})
  --consumer-rounds <n>       consumer-throughput: rounds, median reported (default ${defaults.consumerRounds})
  --share-events <n>          consumer-share: events, one clip each (default ${defaults.shareEvents})
  --handlers <module>         consumer-share: a module exporting a group's makeHandlers(deps) (default: an ffmpeg stand-in)
  --media-seconds <n>         transcode-ladder, thumbnail-set: source length (default ${defaults.mediaSeconds})
  --media-rounds <n>          transcode-ladder, thumbnail-set: rounds, median reported (default ${defaults.mediaRounds})
  --watchers <n>              sse-fanout: event streams open on one video (default ${defaults.watchers})
  --webhook-events <n>        webhook-fanout: events per round, each to 100 subscriptions (default ${defaults.webhookEvents})
  --webhook-rounds <n>        webhook-fanout: rounds per variant, alternating (default ${defaults.webhookRounds})
  --webhook-interval-ms <n>   webhook-fanout: ms between events in the latency rounds (default ${defaults.webhookIntervalMs})
  --kafka-port <n>            bench Kafka port; controller on n+1 (default ${defaults.kafkaPort})
  --s3-port <n>               bench s3proxy port (default ${defaults.s3Port})
  --database-url <url>        database to recreate (default $BENCH_DATABASE_URL or ${defaults.databaseUrl})
  --compare-api <commit>      upload benchmarks: also measure the upload API of that commit, side by side
                              (extracted with its own dependencies into the temporary folder)
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const explicit: Partial<BenchOptions> = {};
  const numbers: Partial<Record<NumericOption, number>> = {};
  let useQuick = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inlineValue] = splitFlag(argv[i]!);
    const value = () => {
      const raw = inlineValue ?? argv[++i];
      if (raw === undefined) throw new UsageError(`${flag} needs a value`);
      return raw;
    };
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--quick') useQuick = true;
    else if (flag === '--only') explicit.only = parseNames(value());
    else if (flag === '--database-url') explicit.databaseUrl = value();
    else if (flag === '--handlers') explicit.handlersModule = value();
    else if (flag === '--compare-api') explicit.compareApi = value();
    else if (flag in numericFlags) numbers[numericFlags[flag]!] = parsePositiveInteger(flag, value());
    else throw new UsageError(`unknown option ${flag}`);
  }
  return { ...defaults, only: [...BENCHMARK_NAMES], ...(useQuick ? quick : {}), ...numbers, ...explicit };
}

function splitFlag(arg: string): [string, string | undefined] {
  const equals = arg.indexOf('=');
  return arg.startsWith('--') && equals > 0 ? [arg.slice(0, equals), arg.slice(equals + 1)] : [arg, undefined];
}

function parseNames(raw: string): BenchmarkName[] {
  const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(BENCHMARK_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(`--only: unknown benchmark ${unknown.join(', ') || '(none given)'}; choose from ${BENCHMARK_NAMES.join(', ')}`);
  }
  // Keep the suite's order whatever order they were named in.
  return BENCHMARK_NAMES.filter((name) => names.includes(name));
}

function parsePositiveInteger(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  return value;
}
