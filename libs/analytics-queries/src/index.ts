export { analyticsSummary, type AnalyticsSummary, type Percentiles, type SummaryScope, type VolumeRow } from './summary';
export { registerAnalyticsMetrics } from './metrics';
