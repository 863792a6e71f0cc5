import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchEnv } from './environment';
import type { BenchOptions, BenchmarkName } from './options';

/** One figure of a benchmark, beside the same figure of its baseline when it has one. */
export interface Measurement {
  label: string;
  unit: string;
  value: number;
  baseline?: number;
  /** value / baseline; present when a baseline is. */
  ratio?: number;
}

export interface Target {
  /** e.g. "API/baseline ≥ 0.9". */
  description: string;
  met: boolean;
}

/** What a benchmark's run returns. */
export interface BenchmarkOutcome {
  measurements: Measurement[];
  target: Target;
  /** Observations worth reading: diagnostics, why a target was missed, caveats. */
  findings: string[];
  /** Raw figures for latest.json (per-run values, samples, settings). */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: BenchmarkName;
  /** One line: what is measured, against which baseline. */
  summary: string;
  run(env: BenchEnv, options: BenchOptions): Promise<BenchmarkOutcome>;
}

export type BenchmarkResult =
  | ({ name: BenchmarkName; summary: string; status: 'ok'; durationMs: number } & BenchmarkOutcome)
  | { name: BenchmarkName; summary: string; status: 'failed'; durationMs: number; error: string };

export function measurement(label: string, unit: string, value: number, baseline?: number): Measurement {
  const rounded = (figure: number) => Number(figure.toPrecision(4));
  return baseline === undefined
    ? { label, unit, value: rounded(value) }
    : { label, unit, value: rounded(value), baseline: rounded(baseline), ratio: Number((value / baseline).toFixed(3)) };
}

export function printReport(results: readonly BenchmarkResult[], write: (text: string) => void = (text) => process.stdout.write(text)): void {
  for (const result of results) {
    const verdict = result.status === 'failed' ? 'FAILED' : result.target.met ? 'PASS' : 'MISS';
    write(`\n== ${result.name}: ${verdict} (${(result.durationMs / 1000).toFixed(0)} s)\n   ${result.summary}\n`);
    if (result.status === 'failed') {
      write(`   error: ${result.error.split('\n').join('\n          ')}\n`);
      continue;
    }
    write(`   target: ${result.target.description}\n\n`);
    const rows = [
      ['metric', 'value', 'baseline', 'ratio', 'unit'],
      ...result.measurements.map((m) => [m.label, formatNumber(m.value), m.baseline === undefined ? '' : formatNumber(m.baseline), m.ratio === undefined ? '' : m.ratio.toFixed(2), m.unit]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const [index, row] of rows.entries()) {
      const cells = row.map((cell, column) => (column === 0 || column === 4 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)));
      write(`   ${cells.join('  ').trimEnd()}\n`);
      if (index === 0) write(`   ${widths.map((width) => '-'.repeat(width)).join('  ')}\n`);
    }
    if (result.findings.length > 0) {
      write('\n');
      for (const finding of result.findings) write(`   - ${finding}\n`);
    }
  }
  const summary = results.map((r) => `${r.name} ${r.status === 'failed' ? 'FAILED' : r.target.met ? 'PASS' : 'MISS'}`).join(', ');
  write(`\nsummary: ${summary}\n`);
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 1000 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export interface RunInfo {
  options: BenchOptions;
  startedAt: Date;
  /** 1, 5 and 15 minute load averages when the run started: how busy the machine already was. */
  loadAverageAtStart: number[];
  results: readonly BenchmarkResult[];
}

export async function writeResults(file: string, run: RunInfo): Promise<void> {
  const document = {
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      totalMemoryMB: Math.round(os.totalmem() / 1e6),
      loadAverageAtStart: run.loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    options: run.options,
    results: run.results,
  };
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
}
