export { loadConfig, ConfigError } from './config';
export type { PipelineConfig, DatabaseConfig, KafkaConfig, StorageConfig, ApiConfig, MediaConfig, UploadsConfig } from './config';
