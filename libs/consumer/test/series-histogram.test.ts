import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../src/series-histogram';

const buckets = [0.005, 0.025, 0.1, 0.5, 1, 5];
const name = 'test_duration_seconds';
const help = 'A test histogram.';

/** prom-client's own Histogram is the reference: same observations, same exposition. */
function pair() {
  const reference = new Registry();
  const ours = new Registry();
  const expected = new Histogram({ name, help, labelNames: ['group', 'outcome'], buckets, registers: [reference] });
  const actual = new SeriesHistogram(name, help, ['group', 'outcome'], buckets, ours);
  return { reference, ours, expected, actual };
}

describe('SeriesHistogram', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations', async () => {
    const { reference, ours, expected, actual } = pair();
    // Values on bucket bounds count in that bucket (le is inclusive); past the last one only in +Inf.
    const observations: [string, string, number][] = [
      ['a', 'success', 0.001],
      ['a', 'success', 0.005],
      ['a', 'success', 0.0051],
      ['a', 'success', 3],
      ['a', 'failure', 7],
      ['b', 'success', 0.1],
      ['b', 'success', 0],
    ];
    for (const [group, outcome, value] of observations) {
      expected.observe({ group, outcome }, value);
      actual.series({ group, outcome }).observe(value);
    }
    expect(await ours.metrics()).toBe(await reference.metrics());
    // As JSON too, leaving out exemplars, which this histogram does not keep.
    const essentials = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).map(({ values, ...metric }) => ({
        ...metric,
        values: values.map(({ metricName, labels, value }: { metricName?: string; labels: object; value: number }) => ({ metricName, labels, value })),
      }));
    expect(await essentials(ours)).toEqual(await essentials(reference));
  });

  it('hands out one series per label combination, whatever the order of the labels object', () => {
    const { actual } = pair();
    const first = actual.series({ group: 'a', outcome: 'success' });
    expect(actual.series({ outcome: 'success', group: 'a' })).toBe(first);
    expect(actual.series({ group: 'a', outcome: 'failure' })).not.toBe(first);
  });

  it('starts over on reset, and a series held from before keeps counting', async () => {
    const { ours, actual } = pair();
    const held = actual.series({ group: 'a', outcome: 'success' });
    held.observe(1);
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('test_duration_seconds_count');
    held.observe(2);
    expect(await ours.metrics()).toContain('test_duration_seconds_count{group="a",outcome="success"} 1');
    expect(await ours.metrics()).toContain('test_duration_seconds_sum{group="a",outcome="success"} 2');
  });

  it('shows a series only once it has been observed, as prom-client does', async () => {
    const { reference, ours, expected, actual } = pair();
    actual.series({ group: 'a', outcome: 'success' });
    expected.labels({ group: 'a', outcome: 'success' });
    expect(await ours.metrics()).toBe(await reference.metrics());
  });

  it('refuses a second metric of the same name in one registry', () => {
    const registry = new Registry();
    new SeriesHistogram(name, help, ['group'], buckets, registry);
    expect(() => new Histogram({ name, help, registers: [registry] })).toThrow(/already been registered/);
  });
});
