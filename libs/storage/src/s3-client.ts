import { S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '@video-pipeline/config';

/** An S3 client for any S3-compatible endpoint (path-style, explicit region). */
export function createS3Client(config: Omit<StorageConfig, 'bucket'>): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
  });
}
