export { createPresignerClient, createS3Client } from './s3-client';
export { ObjectStorage, isStorageUnavailable, PART_SIZE_BYTES, PART_QUEUE_SIZE, MAX_PARTS, INSPECT_RANGE_BYTES, INSPECT_PARALLEL_RANGES, partSizeFor, type StoredVideo, type UploadOptions } from './object-storage';
export { ContainerSniffer, sniffVideoContainer, SNIFF_BYTES } from './container-sniffer';
export { DigestStream } from './digest-stream';
export { readRangesInOrder, rangesOf, type ByteRange, type RangedReadOptions } from './ranged-read';
