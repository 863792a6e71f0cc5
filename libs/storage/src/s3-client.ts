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

/**
 * A client that only signs URLs for others to use (direct uploads' parts),
 * for the endpoint those clients reach. Checksums are left to the uploader:
 * a URL signed with the SDK's default checksum would demand that of an empty body.
 */
export function createPresignerClient(config: Omit<StorageConfig, 'bucket'>): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
