export { createPresignerClient, createS3Client } from './s3-client';
export { ObjectStorage, PART_SIZE_BYTES, PART_QUEUE_SIZE, MAX_PARTS, partSizeFor, type StoredVideo, type UploadOptions } from './object-storage';
export { ContainerSniffer, sniffVideoContainer, SNIFF_BYTES } from './container-sniffer';
export { DigestStream } from './digest-stream';
