import http from 'node:http';
import { createEvent, eventCatalog, type CloudEvent, type EventType } from '@video-pipeline/events';
import type { EventHandler } from '@video-pipeline/consumer';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { API_KEY, startUploadApi, testLogger, type RunningApi } from '../../../test/support/pipeline';
import { sseReader, type SseEvent } from '../../../test/support/sse';
import { testConfig } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';
import { handleVideoUploaded as moderate } from '../../moderation/src/handlers/video-uploaded';
import { moderationDeps } from '../../moderation/src/moderation-deps';
import { handleVideoUploaded as thumbnail } from '../../thumbnailer/src/handlers/video-uploaded';
import { handleVideoUploaded as transcode } from '../../transcoder/src/handlers/video-uploaded';

/**
 * The API and the three stages' handlers on the real database, S3 server
 * and ffmpeg, with a bucket and topic prefix of their own. The handlers run
 * on the `video.uploaded` the API wrote to its outbox, as the groups would
 * (the consumer runtime and Kafka are tested apart).
 */
export class LifecycleBed {
  readonly bed: MediaTestbed;
  api!: RunningApi;
  readonly handlers: Record<'transcode' | 'thumbnails' | 'moderation', EventHandler<'video.uploaded'>>;

  constructor(name: string, env: NodeJS.ProcessEnv = {}) {
    const moderationEnv = { MODERATION_BLOCKLIST: 'spam,scam', MODERATION_FRAME_SAMPLES: '3', EVENT_STREAM_HEARTBEAT_SECONDS: '0.2', ...env };
    this.bed = new MediaTestbed(name, moderationEnv);
    const config = testConfig(this.bed.config.kafka.topicPrefix, { S3_BUCKET: this.bed.config.storage.bucket, MEDIA_TEMP_DIR: this.bed.tempDir, X264_PRESET: 'superfast', ...moderationEnv });
    this.handlers = {
      transcode: transcode(this.bed.deps('transcoder')),
      thumbnails: thumbnail(this.bed.deps('thumbnailer')),
      moderation: moderate(moderationDeps({ config, prisma: this.bed.prisma, logger: testLogger() })),
    };
  }

  async start(apiOptions: Parameters<typeof startUploadApi>[1] = {}): Promise<this> {
    await this.bed.start();
    this.api = await startUploadApi(this.bed.config, apiOptions);
    return this;
  }

  async close(): Promise<void> {
    await this.api.close();
    await this.bed.prisma.outboxEvent.deleteMany({ where: { topic: { startsWith: this.bed.config.kafka.topicPrefix } } });
    await this.bed.close();
  }

  /** Uploads through the API; the video and its `video.uploaded` as the outbox holds it. */
  async upload(file: string, fields: Record<string, string> = {}, apiKey = API_KEY): Promise<{ video: any; event: CloudEvent<'video.uploaded'> }> {
    const response = await uploadFile(this.api.baseUrl, apiKey, { file: { path: file }, fields });
    if (response.status !== 201) throw new Error(`upload answered ${response.status}: ${JSON.stringify(response.body)}`);
    const row = await this.bed.prisma.outboxEvent.findFirstOrThrow({ where: { key: response.body.id, type: 'video.uploaded' } });
    const data = eventCatalog['video.uploaded'].schema.parse(row.payload) as CloudEvent<'video.uploaded'>['data'];
    return { video: response.body, event: createEvent('video.uploaded', { id: row.id, source: '/video-pipeline/test', subject: data.videoId, data }) };
  }

  /** Runs one stage's handler on the event and commits its effects; whether it returned any. */
  run(stage: keyof LifecycleBed['handlers'], event: CloudEvent<'video.uploaded'>, signal = new AbortController().signal): Promise<boolean> {
    return this.bed.handle(this.handlers[stage], event, { signal });
  }

  async runAll(event: CloudEvent<'video.uploaded'>): Promise<void> {
    await this.run('moderation', event);
    await this.run('transcode', event);
    await this.run('thumbnails', event);
  }

  async request(method: string, pathname: string, options: { apiKey?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const response = await fetch(`${this.api.baseUrl}${pathname}`, {
      method,
      headers: {
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    });
    const text = await response.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body };
  }

  /** The outbox events of a type for a video (payloads). */
  published<T extends EventType>(type: T, videoId: string): Promise<CloudEvent<T>['data'][]> {
    return this.bed.published(type, videoId);
  }
}

/** A Server-Sent Events client on a raw HTTP request: every event and comment, and whether the server ended the stream. */
export function openEventStream(url: string, headers: Record<string, string>) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let status = 0;
  let contentType = '';
  let request: http.ClientRequest | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const req = (request = http.get(url, { headers }, (res) => {
      status = res.statusCode ?? 0;
      contentType = String(res.headers['content-type'] ?? '');
      res.setEncoding('utf8');
      res.on('data', sseReader({ onEvent: (event) => events.push(event), onComment: (text) => comments.push(text) }));
      res.on('end', resolve);
      res.on('error', reject);
    }));
    req.on('error', reject);
  });
  return { events, comments, ended, status: () => status, contentType: () => contentType, close: () => request?.destroy() };
}
