import { ConfigError, loadConfig } from '@video-pipeline/config';

describe('loadConfig', () => {
  it('has defaults for a local stack', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.storage).toMatchObject({ endpoint: 'http://127.0.0.1:9000', bucket: 'videos' });
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.api.apiKeys.size).toBe(0);
  });

  it('gives Kafka connections 5 s to open unless told otherwise, refusing what is not a positive number of ms', () => {
    expect(loadConfig({}).kafka.connectionTimeoutMs).toBe(5_000);
    expect(loadConfig({ KAFKA_CONNECTION_TIMEOUT_MS: '10000' }).kafka.connectionTimeoutMs).toBe(10_000);
    expect(() => loadConfig({ KAFKA_CONNECTION_TIMEOUT_MS: '0' })).toThrow(/KAFKA_CONNECTION_TIMEOUT_MS/);
    expect(() => loadConfig({ KAFKA_CONNECTION_TIMEOUT_MS: '5s' })).toThrow(/KAFKA_CONNECTION_TIMEOUT_MS/);
  });

  it('parses lists and key:owner pairs, treating empty values as unset', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', API_KEYS: 'k1:alice,k2:bob', PORT: '', MAX_UPLOAD_BYTES: '1024' });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect([...config.api.apiKeys]).toEqual([['k1', 'alice'], ['k2', 'bob']]);
    expect(config.api.port).toBe(3000);
    expect(config.api.maxUploadBytes).toBe(1024);
  });

  it('has workers prune their idempotency records every 6 hours unless told another period, or 0 for never', () => {
    expect(loadConfig({}).idempotencyPruneEveryHours).toBe(6);
    expect(loadConfig({ IDEMPOTENCY_PRUNE_HOURS: '0' }).idempotencyPruneEveryHours).toBe(0);
    expect(loadConfig({ IDEMPOTENCY_PRUNE_HOURS: '0.5' }).idempotencyPruneEveryHours).toBe(0.5);
    expect(() => loadConfig({ IDEMPOTENCY_PRUNE_HOURS: '-1' })).toThrow(/IDEMPOTENCY_PRUNE_HOURS/);
    expect(() => loadConfig({ IDEMPOTENCY_PRUNE_HOURS: 'daily' })).toThrow(/IDEMPOTENCY_PRUNE_HOURS/);
  });

  it('refuses ANALYTICS_METRICS_PORT, which is no longer read, saying where the analytics gauges went', () => {
    expect(() => loadConfig({ ANALYTICS_METRICS_PORT: '9500' })).toThrow(/ANALYTICS_METRICS_PORT: no longer used: the analytics worker serves its gauges on its own \/metrics at METRICS_PORT/);
    // Empty is unset, as for every variable.
    expect(loadConfig({ ANALYTICS_METRICS_PORT: '' }).metricsPort).toBe(0);
  });

  it('keeps finished videos\' change log 7 days unless CHANGE_LOG_RETENTION_HOURS says otherwise, refusing what is not a positive number of hours', () => {
    expect(loadConfig({}).uploads.changeLogRetentionMs).toBe(7 * 24 * 60 * 60 * 1000);
    expect(loadConfig({ CHANGE_LOG_RETENTION_HOURS: '36' }).uploads.changeLogRetentionMs).toBe(36 * 60 * 60 * 1000);
    expect(loadConfig({ CHANGE_LOG_RETENTION_HOURS: '0.5' }).uploads.changeLogRetentionMs).toBe(30 * 60 * 1000);
    expect(() => loadConfig({ CHANGE_LOG_RETENTION_HOURS: '7d' })).toThrow('CHANGE_LOG_RETENTION_HOURS: expected a number of hours, e.g. 168 for 7 days');
    expect(() => loadConfig({ CHANGE_LOG_RETENTION_HOURS: '0' })).toThrow('CHANGE_LOG_RETENTION_HOURS: expected a positive number of hours, e.g. 168 for 7 days');
    expect(() => loadConfig({ CHANGE_LOG_RETENTION_HOURS: '-24' })).toThrow('CHANGE_LOG_RETENTION_HOURS: expected a positive number of hours');
  });

  it('allows no cross-origin callers unless CORS_ORIGINS names them', () => {
    expect(loadConfig({}).api.corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://127.0.0.1:5173' }).api.corsOrigins).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).api.corsOrigins).toEqual(['*']);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/' })).toThrow(/CORS_ORIGINS.*no trailing slash/);
    expect(() => loadConfig({ CORS_ORIGINS: 'app.example.com' })).toThrow(/CORS_ORIGINS/);
  });

  it('has media limits with sane defaults, and refuses ones that are not numbers or presets', () => {
    const { media } = loadConfig({});
    expect(media.limits).toEqual({ maxSide: 4096, maxDurationSeconds: 4 * 60 * 60, maxFps: 120 });
    expect(media).toMatchObject({ threads: 0, x264Preset: 'veryfast', timeLimitMs: 3 * 60 * 60 * 1000 });
    expect(media.tempDir).toMatch(/video-pipeline-media$/);
    expect(loadConfig({ MEDIA_MAX_SIDE: '1920', X264_PRESET: 'ultrafast', MEDIA_TEMP_DIR: '/scratch' }).media).toMatchObject({ limits: { maxSide: 1920 }, x264Preset: 'ultrafast', tempDir: '/scratch' });
    expect(() => loadConfig({ X264_PRESET: 'warp' })).toThrow(/X264_PRESET/);
    expect(() => loadConfig({ MEDIA_MAX_FPS: '0' })).toThrow(/MEDIA_MAX_FPS/);
  });

  it('lists every problem at once', () => {
    let thrown: unknown;
    try {
      loadConfig({ PORT: 'eighty', API_KEYS: 'nokey', DATABASE_URL: 'not a url' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const problems = (thrown as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/API_KEYS.*key:owner/);
    expect(problems).toMatch(/DATABASE_URL/);
  });
});
