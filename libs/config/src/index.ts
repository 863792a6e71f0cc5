export { loadConfig, ConfigError } from './config';
export type { PipelineConfig, DatabaseConfig, KafkaConfig, StorageConfig, ApiConfig, MediaConfig, ModerationConfig, PlaybackConfig, UploadsConfig } from './config';
