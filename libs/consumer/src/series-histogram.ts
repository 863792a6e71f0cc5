import type { Metric, MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from 'prom-client';

/** One label combination of a SeriesHistogram: observing is a bucket search and three additions. */
export class HistogramSeries {
  /** Per bucket, not cumulative; the last one is +Inf. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    this.counts[bucket]! += 1;
    this.sum += value;
    this.count += 1;
  }

  /** Back to no observations; whoever holds the series keeps using it. */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** Cumulative counts per upper bound, as Prometheus exposes them (`le`). */
  cumulative(): number[] {
    let total = 0;
    return Array.from(this.counts, (count) => (total += count));
  }
}

/**
 * A Prometheus histogram whose series are looked up once and then observed
 * directly. prom-client's Histogram validates and hashes its labels on every
 * observation, which cost the consumer runtime 0.8 µs of its 6 µs per event;
 * this one registers in the same registry and exposes the same
 * `_bucket`/`_sum`/`_count` lines.
 */
export class SeriesHistogram<Label extends string> {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly seriesByKey = new Map<string, HistogramSeries>();
  private readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly Label[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b);
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these labels, made on first use: keep it and call `observe` on it. */
  series(labels: Readonly<Record<Label, string>>): HistogramSeries {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.seriesByKey.get(key);
    if (!series) {
      series = new HistogramSeries(this.bounds, { ...labels });
      this.seriesByKey.set(key, series);
    }
    return series;
  }

  /** Zeroes every series rather than dropping it: callers hold on to their series. */
  reset(): void {
    for (const series of this.seriesByKey.values()) series.clear();
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const series of this.seriesByKey.values()) {
      // As prom-client does, a series appears with its first observation.
      if (series.count === 0) continue;
      const cumulative = series.cumulative();
      cumulative.forEach((value, index) => {
        const le = index < this.bounds.length ? this.bounds[index]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...series.labels }, value });
      });
      values.push({ metricName: `${this.name}_sum`, labels: { ...series.labels }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...series.labels }, value: series.count });
    }
    // prom-client's typings declare MetricType a numeric enum; its registry writes the string ('histogram') it really holds.
    const type = this.type as unknown as MetricType;
    return { name: this.name, help: this.help, type, aggregator: this.aggregator, values } as MetricObjectWithValues<MetricValueWithName<string>>;
  }
}
