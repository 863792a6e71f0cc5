/**
 * `npm run bench [-- --only <name> --quick ...]`: starts a stack of its own
 * (Kafka, s3proxy, a recreated database), runs the benchmarks one after the
 * other, prints a table and writes bench/results/latest.json. Every figure
 * is measured beside a baseline in the same run, because a 2-core machine
 * shared with other work is too noisy for absolute numbers to mean much.
 */
import os from 'node:os';
import path from 'node:path';
import { consumerShare } from './consumer-share';
import { consumerThroughput } from './consumer-throughput';
import { eventLatency } from './event-latency';
import { thumbnailSet, transcodeLadder } from './media-workers';
import { sseFanout } from './sse-fanout';
import { uploadToReady } from './upload-to-ready';
import { startBenchEnv } from './support/environment';
import { USAGE, UsageError, parseOptions, type BenchmarkName } from './support/options';
import { printReport, writeResults, type Benchmark, type BenchmarkResult } from './support/report';
import { uploadMemory } from './upload-memory';
import { uploadDirectParts, uploadTus } from './upload-resumable';
import { uploadThroughput } from './upload-throughput';
import { webhookFanout } from './webhook-fanout';

const BENCHMARKS: Record<BenchmarkName, Benchmark> = {
  'upload-memory': uploadMemory,
  'upload-throughput': uploadThroughput,
  'event-latency': eventLatency,
  'consumer-throughput': consumerThroughput,
  'consumer-share': consumerShare,
  'transcode-ladder': transcodeLadder,
  'thumbnail-set': thumbnailSet,
  'sse-fanout': sseFanout,
  'upload-to-ready': uploadToReady,
  'webhook-fanout': webhookFanout,
  'upload-tus': uploadTus,
  'upload-direct': uploadDirectParts,
};

const RESULTS_FILE = path.join(__dirname, 'results', 'latest.json');

/** Last resort against a hung run: exit (exit hooks kill the servers and the API child). Default sizes take about 3 min. */
const HARD_DEADLINE_MS = 20 * 60_000;

const progress = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const deadline = setTimeout(() => {
    progress(`still running after ${HARD_DEADLINE_MS / 60_000} min; giving up`);
    process.exit(124);
  }, HARD_DEADLINE_MS);
  deadline.unref();

  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  progress(`starting the bench stack (Kafka :${options.kafkaPort}, s3proxy :${options.s3Port})`);
  const env = await startBenchEnv(options, progress);
  const results: BenchmarkResult[] = [];
  try {
    for (const name of options.only) {
      const benchmark = BENCHMARKS[name];
      progress(`${name}: ${benchmark.summary}`);
      const started = performance.now();
      try {
        const outcome = await benchmark.run(env, options);
        results.push({ name, summary: benchmark.summary, status: 'ok', durationMs: Math.round(performance.now() - started), ...outcome });
      } catch (error) {
        progress(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        results.push({ name, summary: benchmark.summary, status: 'failed', durationMs: Math.round(performance.now() - started), error: error instanceof Error ? error.message : String(error) });
      }
      // After each benchmark, so a later crash keeps what was measured.
      await writeResults(RESULTS_FILE, { options, startedAt, loadAverageAtStart, results });
    }
  } finally {
    progress('stopping the bench stack');
    await env.stop();
  }
  printReport(results);
  progress(`results written to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  return results.some((result) => result.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
    else progress(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
