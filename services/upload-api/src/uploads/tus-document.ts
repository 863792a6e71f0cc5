import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import type { ErrorCode } from '@video-pipeline/errors';
import { API_KEY_SCHEME, errorResponses, requestIdHeader } from '../http/openapi';
import { MAX_TITLE_LENGTH } from '../schemas';
import { TUS_PATH, VIDEO_ID_HEADER, VIDEO_URL_HEADER } from './tus';

/*
 * The tus endpoint in the OpenAPI document. tus is served by @tus/server
 * (tus.ts), not by the route layer, so these entries are written by hand;
 * they say what the protocol and our hooks answer, and the OpenAPI test
 * checks they match the operations tus.ts lets through.
 */

const digits = z.string().regex(/^[0-9]+$/);
const TUS_PROTOCOL = 'tus 1.0 (https://tus.io/protocols/resumable-upload)';

const tusVersion = z.literal('1.0.0').meta({ description: 'the protocol versions served' });
const tusResumable = z.literal('1.0.0').meta({ description: 'the tus protocol version; required on every request but OPTIONS, and on every answer' });
const uploadExpires = z.string().meta({ description: 'when the unfinished upload expires (HTTP date), `UPLOAD_EXPIRY_HOURS` after its creation', example: 'Tue, 08 Dec 2026 06:00:00 GMT' });
const uploadOffset = digits.meta({ description: 'how many bytes of the file are stored' });
const videoHeaders = {
  [VIDEO_ID_HEADER]: z.string().meta({ description: 'the video the finished upload became' }),
  [VIDEO_URL_HEADER]: z.string().meta({ description: 'its URL', example: '/v1/videos/de280d98-e060-4728-81fc-41356c7de1ef' }),
};
const optionalVideoHeaders = {
  [VIDEO_ID_HEADER]: videoHeaders[VIDEO_ID_HEADER].optional(),
  [VIDEO_URL_HEADER]: videoHeaders[VIDEO_URL_HEADER].optional(),
};

const uploadIdPath = z.object({ id: z.string().meta({ description: 'the upload\'s id, the last segment of the `Location` its creation answered' }) });
const fileBytes = (description: string) => ({ 'application/offset+octet-stream': { schema: z.string().meta({ description, format: 'binary' }) } });

/**
 * Our error answers for `codes`, tus' own refusals among them (mapped in
 * `tus-refusals.ts`, at tus' status). A tus answer says `Tus-Resumable`; a
 * 412 also says the versions served.
 */
function tusErrors(codes: readonly ErrorCode[]): ZodOpenApiResponsesObject {
  return Object.fromEntries(
    Object.entries(errorResponses(codes)).map(([status, response]) => [
      status,
      { ...response, headers: requestIdHeader.extend({ 'Tus-Resumable': tusResumable, ...(status === '412' && { 'Tus-Version': tusVersion }) }) },
    ]),
  );
}

/** HEAD answers carry no body: a refusal says itself by its status, and the codes are those of its description. */
function withoutBodies(responses: ZodOpenApiResponsesObject): ZodOpenApiResponsesObject {
  return Object.fromEntries(Object.entries(responses).map(([status, response]) => [status, { description: (response as { description: string }).description, headers: (response as { headers: typeof requestIdHeader }).headers }]));
}

const answer = (description: string, headers: z.ZodRawShape) => ({ description, headers: requestIdHeader.extend({ 'Tus-Resumable': tusResumable, ...headers }) });

/** The operations every owner's tus request shares. */
const ownersOperation = (operation: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({
  tags: ['uploads'],
  security: [{ [API_KEY_SCHEME]: [] }],
  'x-api-key-kind': 'owner',
  ...operation,
});

const ownerErrors: ErrorCode[] = ['unauthorized', 'forbidden'];
/** tus' refusals of a request that breaks the protocol, before any handler: no `Tus-Resumable` (412), a malformed tus header (400). */
const protocolErrors: ErrorCode[] = ['invalid_request', 'tus_version_unsupported'];
/** A request on an upload waits its turn behind another on it (on any instance), for 30 s at most. */
const lockErrors: ErrorCode[] = ['temporarily_unavailable'];
const finishErrors: ErrorCode[] = ['unsupported_media_type', 'file_too_large', 'storage_quota_exceeded', 'upload_quota_exceeded', 'storage_unavailable', 'database_unavailable'];

const options: ZodOpenApiOperationObject = {
  operationId: 'tusOptions',
  tags: ['uploads'],
  summary: 'What the tus endpoint supports (resumable uploads)',
  description: `Announces ${TUS_PROTOCOL} and its extensions. Needs no API key (browsers send it as a CORS preflight).`,
  security: [],
  responses: {
    204: {
      description: 'the protocol, its extensions and the largest upload',
      headers: requestIdHeader.extend({
        'Tus-Resumable': tusResumable,
        'Tus-Version': tusVersion,
        'Tus-Extension': z.string().meta({ description: 'the extensions served', example: 'creation,creation-with-upload,termination,creation-defer-length,expiration' }),
        'Tus-Max-Size': digits.meta({ description: 'the largest upload in bytes: `MAX_UPLOAD_BYTES`' }),
      }),
    },
  },
};

const create = ownersOperation({
  operationId: 'tusCreateUpload',
  summary: 'Start a resumable upload (tus creation)',
  description:
    `Creates an upload of \`Upload-Length\` bytes (or of a length given later, with \`Upload-Defer-Length: 1\`) under the owner's quota, ` +
    'and answers its URL in `Location`. The body may carry the first bytes (creation-with-upload); the first 4 KiB are sniffed as they arrive, ' +
    'and a file that is not a video is refused at once and removed. Resume with HEAD and PATCH on the `Location`. ' +
    `An unfinished upload expires at \`Upload-Expires\`. Protocol: ${TUS_PROTOCOL}.`,
  requestParams: {
    header: z.object({
      'Tus-Resumable': tusResumable,
      'Upload-Length': digits.optional().meta({ description: 'the file\'s size in bytes; at most `Tus-Max-Size`. Either this or `Upload-Defer-Length`' }),
      'Upload-Defer-Length': z.literal('1').optional().meta({ description: 'the size is not known yet: a later PATCH gives `Upload-Length`' }),
      'Upload-Metadata': z
        .string()
        .optional()
        .meta({
          description: `comma-separated \`key base64(value)\` pairs; \`title\` (at most ${MAX_TITLE_LENGTH} characters) is the video's title, other keys are kept by tus and not used`,
          example: 'title SG9saWRheXM=,filename aG9saWRheXMubXA0',
        }),
    }),
  },
  requestBody: { required: false, description: 'optionally the file\'s first bytes (creation-with-upload)', content: fileBytes('the file\'s first bytes') },
  responses: {
    201: answer('created; `Location` is the upload\'s URL. When the body held the whole file, the upload is finished and its video recorded (`Video-Id`, `Video-Url`)', {
      Location: z.string().meta({ description: 'the upload\'s URL', example: `${TUS_PATH}/de280d98-e060-4728-81fc-41356c7de1ef` }),
      'Upload-Expires': uploadExpires.optional().meta({ description: 'when the unfinished upload expires (HTTP date); absent once it is finished' }),
      'Upload-Offset': uploadOffset.optional().meta({ description: 'the bytes stored, when the body carried some' }),
      ...optionalVideoHeaders,
    }),
    ...tusErrors([...protocolErrors, ...ownerErrors, 'tus_extension_unsupported', 'upload_length_exceeded', 'upload_aborted', ...finishErrors, 'internal']),
  },
});

const head = ownersOperation({
  operationId: 'tusUploadOffset',
  summary: 'How much of a resumable upload is stored (tus HEAD)',
  description:
    'The offset to resume from. A finished upload answers its size and its video (`Video-Id`, `Video-Url`); one whose bytes are all stored ' +
    'but whose video was not yet recorded (its last answer was lost) is completed by this request. Another owner\'s upload answers 404, like a missing one.',
  requestParams: { path: uploadIdPath, header: z.object({ 'Tus-Resumable': tusResumable }) },
  responses: {
    200: answer('the upload\'s state (no body)', {
      'Upload-Offset': uploadOffset,
      'Upload-Length': digits.optional().meta({ description: 'the file\'s size, once known' }),
      'Upload-Defer-Length': z.literal('1').optional().meta({ description: 'the size is not known yet' }),
      'Upload-Metadata': z.string().optional().meta({ description: 'as sent at creation' }),
      'Upload-Expires': uploadExpires.optional(),
      'Cache-Control': z.literal('no-store'),
      ...optionalVideoHeaders,
    }),
    ...withoutBodies(tusErrors([...protocolErrors, 'not_found', 'upload_expired', ...ownerErrors, ...finishErrors, ...lockErrors, 'internal'])),
  },
});

const patch = ownersOperation({
  operationId: 'tusUploadBytes',
  summary: 'Send bytes of a resumable upload (tus PATCH)',
  description:
    'Appends the body at `Upload-Offset`, which must be the stored offset. The request that stores the last byte also records the video, once ' +
    '(the answer carries `Video-Id` and `Video-Url`); sent again after its answer was lost, it stores nothing and answers the same video.',
  requestParams: {
    path: uploadIdPath,
    header: z.object({
      'Tus-Resumable': tusResumable,
      'Upload-Offset': uploadOffset.meta({ description: 'where the body goes: the offset HEAD answered' }),
      'Upload-Length': digits.optional().meta({ description: 'the file\'s size, for an upload created with `Upload-Defer-Length` (once)' }),
    }),
  },
  requestBody: { required: true, content: fileBytes('the file\'s bytes from `Upload-Offset` on') },
  responses: {
    204: answer('stored', { 'Upload-Offset': uploadOffset, 'Upload-Expires': uploadExpires.optional(), ...optionalVideoHeaders }),
    ...tusErrors([
      ...protocolErrors,
      'not_found',
      'upload_expired',
      ...ownerErrors,
      'tus_header_missing',
      'upload_offset_mismatch',
      'upload_length_exceeded',
      'upload_aborted',
      ...finishErrors,
      ...lockErrors,
      'internal',
    ]),
  },
});

const terminate = ownersOperation({
  operationId: 'tusDeleteUpload',
  summary: 'Give up a resumable upload (tus termination)',
  description: 'Removes the upload and what was stored of it, once a request still sending bytes to it has stopped. A finished upload is its video and is refused here (`upload_finished`, `details.videoId`): delete the video instead.',
  requestParams: { path: uploadIdPath, header: z.object({ 'Tus-Resumable': tusResumable }) },
  responses: {
    204: answer('removed', {}),
    ...tusErrors(['invalid_request', 'upload_finished', 'not_found', ...ownerErrors, 'storage_unavailable', 'database_unavailable', ...lockErrors, 'internal']),
  },
});

/** The tus endpoint's operations, for `openApiDocument`'s `servedElsewhere`. */
export const tusOperations: ZodOpenApiPathsObject = {
  [TUS_PATH]: { options, post: create },
  [`${TUS_PATH}/{id}`]: { head, patch, delete: terminate },
};
