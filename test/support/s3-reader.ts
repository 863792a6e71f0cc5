import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * A plain HTTP server on 127.0.0.1 in front of one bucket: GET /<key>
 * answers the object with its stored content type, as a CDN in front of
 * the bucket would. Lets ffmpeg or a player read a stored HLS ladder end to
 * end, relative URIs included, without signing each request.
 */
export async function startBucketReader(client: S3Client, bucket: string): Promise<{ url(key: string): string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const key = decodeURIComponent(new URL(request.url ?? '/', 'http://reader').pathname.slice(1));
    requests.push(key);
    client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
      async (object) => {
        response.writeHead(200, { 'content-type': object.ContentType ?? 'application/octet-stream', 'content-length': String(object.ContentLength ?? '') });
        response.end(Buffer.from(await object.Body!.transformToByteArray()));
      },
      (error: { $metadata?: { httpStatusCode?: number } }) => {
        response.writeHead(error.$metadata?.httpStatusCode ?? 500).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (key) => `http://127.0.0.1:${port}/${key.split('/').map(encodeURIComponent).join('/')}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
