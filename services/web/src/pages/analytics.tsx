import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError } from '../api';
import { useApp } from '../session';

interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

interface Summary {
  from: string;
  to: string;
  uploads: { uploads: number; bytes: number; sourceMinutes: number };
  days: { day: string; uploads: number }[];
  stages: { stage: string; succeeded: number; failed: number; failuresByReason: { code: string; count: number }[]; processingSeconds: Percentiles }[];
  uploadToReadySeconds: Percentiles;
  outcomes: { ready: number; rejected: number; failed: number; deleted: number; failedByReason: { stage: string; code: string; count: number }[] };
}

/** The last 30 days of the caller's numbers (an admin's: everyone's), drawn with uPlot; the player-sized library loads only here. */
export function Analytics() {
  const { api } = useApp();
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api?.request<Summary>('/v1/analytics/summary').then(setSummary, (caught) => setError(caught instanceof ApiError ? caught.message : 'The numbers could not be loaded.'));
  }, [api]);

  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!summary) return <p aria-busy="true">Loading…</p>;
  const stages = summary.stages;
  const reasons = [
    ...stages.flatMap((stage) => stage.failuresByReason.map((reason) => ({ stage: stage.stage, ...reason }))),
  ];
  const failureStages = [...new Set(reasons.map((reason) => reason.stage))];
  return (
    <section>
      <h2>Uploads per day</h2>
      <Chart
        label="Uploads per day"
        data={[summary.days.map((day) => Date.parse(`${day.day}T00:00:00Z`) / 1000), summary.days.map((day) => day.uploads)]}
        series={[{}, { label: 'uploads', stroke: '#1f5fcc', fill: 'rgba(31,95,204,0.15)', paths: uPlot.paths.bars!({ size: [0.6, 40] }) }]}
        time
      />
      <h2>Processing time per stage (seconds)</h2>
      <Chart
        label="Processing time percentiles per stage"
        data={[stages.map((_, index) => index), stages.map((stage) => stage.processingSeconds.p50), stages.map((stage) => stage.processingSeconds.p95), stages.map((stage) => stage.processingSeconds.p99)]}
        series={[
          {},
          { label: 'p50', stroke: '#1d6b35', points: { size: 8 } },
          { label: 'p95', stroke: '#b37400', points: { size: 8 } },
          { label: 'p99', stroke: '#b3261e', points: { size: 8 } },
        ]}
        xLabels={stages.map((stage) => stage.stage)}
      />
      <table>
        <caption>Per stage</caption>
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col">Succeeded</th>
            <th scope="col">Failed</th>
            <th scope="col">p50 s</th>
            <th scope="col">p95 s</th>
            <th scope="col">p99 s</th>
          </tr>
        </thead>
        <tbody>
          {stages.map((stage) => (
            <tr key={stage.stage} data-stage={stage.stage}>
              <th scope="row">{stage.stage}</th>
              <td>{stage.succeeded}</td>
              <td>{stage.failed}</td>
              <td>{stage.processingSeconds.p50?.toFixed(1) ?? '–'}</td>
              <td>{stage.processingSeconds.p95?.toFixed(1) ?? '–'}</td>
              <td>{stage.processingSeconds.p99?.toFixed(1) ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Failure reasons</h2>
      {reasons.length === 0 ? (
        <p class="calm">No failures in these 30 days.</p>
      ) : (
        <>
        <figure class="failure-chart">
          <Chart
            label={`Failures by reason code per stage: ${reasons.map((reason) => `${reason.stage} ${reason.code} ${reason.count}`).join(', ')}`}
            data={[reasons.map((_, index) => index), ...failureStages.map((stage) => reasons.map((reason) => (reason.stage === stage ? reason.count : null)))]}
            series={[{}, ...failureStages.map((stage, index) => ({ label: stage, stroke: STAGE_COLOURS[index % STAGE_COLOURS.length], fill: STAGE_COLOURS[index % STAGE_COLOURS.length], paths: uPlot.paths.bars!({ size: [0.6, 60] }) }))]}
            xLabels={reasons.map((reason) => reason.code)}
            fromZero
          />
          <figcaption>Failures by reason code, one colour per stage ({failureStages.join(', ')}); the table below has the same numbers.</figcaption>
        </figure>
        <table>
          <caption>Failures by stage and reason</caption>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">Reason</th>
              <th scope="col">Count</th>
            </tr>
          </thead>
          <tbody>
            {reasons.map((reason) => (
              <tr key={`${reason.stage}-${reason.code}`}>
                <td>{reason.stage}</td>
                <td>{reason.code}</td>
                <td>{reason.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </>
      )}
    </section>
  );
}

/** Bar colours of the failure chart's stages, each with enough contrast on the light and dark backgrounds. */
const STAGE_COLOURS = ['#b3261e', '#1f5fcc', '#b37400', '#1d6b35'];

function Chart({ label, data, series, time = false, xLabels, fromZero = false }: { label: string; data: (number | null)[][]; series: uPlot.Series[]; time?: boolean; xLabels?: string[]; fromZero?: boolean }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const width = Math.max(280, Math.min(element.clientWidth || 600, 900));
    // Categories: one tick per label, at whole indexes.
    const axes: uPlot.Axis[] = xLabels ? [{ splits: () => xLabels.map((_, index) => index), values: (_plot, ticks) => ticks.map((tick) => xLabels[tick] ?? '') }, {}] : [{}, {}];
    const scales: uPlot.Scales = { x: { time, ...(xLabels ? { range: [-0.5, xLabels.length - 0.5] } : {}) } };
    if (fromZero) scales.y = { range: (_plot, _min, max) => [0, Math.max(1, max) * 1.15] };
    // The legend names a category by its label, not its index.
    const categories: uPlot.Series[] = xLabels ? [{ label: 'category', value: (_plot, index) => (index == null ? '–' : (xLabels[index] ?? '–')) }, ...series.slice(1)] : series;
    const plot = new uPlot({ width, height: 220, scales, series: categories, axes }, data as uPlot.AlignedData, element);
    return () => plot.destroy();
  }, [JSON.stringify(data)]);
  return <div class="chart" ref={holder} role="img" aria-label={label} />;
}
