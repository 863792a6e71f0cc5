import type { IncomingHttpHeaders } from 'node:http';
import { ERRORS, HEADERS, TUS_RESUMABLE, TUS_VERSION } from '@tus/server';
import { PipelineError } from '@video-pipeline/errors';
import { uploadLockTimedOut } from './tus-locker';

/** A tus answer as @tus/server writes it, and the request it answers. */
export interface TusAnswer {
  status: number;
  /** tus' plain text: one of its `ERRORS` bodies, or one it writes itself before its handlers (412, invalid headers). */
  body: string;
  method: string;
  headers: IncomingHttpHeaders;
  /** The upload's length, read for a PATCH whose body tus cut off for its size; undefined while it is deferred. */
  uploadLength?: number;
}

/** Our error for a refusal of tus, and headers it adds to tus' own (which stay). */
export interface TusRefusal {
  error: PipelineError;
  headers?: Record<string, string>;
}

type Refuse = (answer: TusAnswer, maxUploadBytes: number) => PipelineError;

/** A header as the protocol spells it (tus names the ones it refused in lower case). */
const headerName = (lower: string) => HEADERS.find((name) => name.toLowerCase() === lower) ?? lower;
const inHeader = (parameter: string) => ({ details: { in: 'header', parameter } });
const tooLarge = (maxUploadBytes: number) =>
  // Said as the direct upload says it, with the limit people need rather than tus' header name.
  new PipelineError('file_too_large', `an upload is at most ${maxUploadBytes} bytes`, { details: { maxBytes: maxUploadBytes } });
const lengthExceeded = () => new PipelineError('upload_length_exceeded', 'the request carries bytes past the upload’s Upload-Length');
const internal = () => new PipelineError('internal', 'something went wrong on our side');
const unsupported = (extension: string) => () =>
  new PipelineError('tus_extension_unsupported', `the tus ${extension} extension is not served`, { details: { extension } });

/**
 * Each of tus' `ERRORS`, as our error at tus' own status (tus clients act
 * on it: tus-js-client resumes after a 409 and starts anew after a 404 or
 * 410). Keyed by tus' names, so an upgrade that adds one fails the
 * typecheck until it is mapped. The lock's timeout is the exception: 503
 * with Retry-After rather than tus' bare 500 (see `uploadLockTimedOut`).
 */
const refusals: Record<keyof typeof ERRORS, Refuse> = {
  MISSING_OFFSET: () => new PipelineError('tus_header_missing', 'a PATCH needs Upload-Offset: the offset HEAD answered', inHeader('Upload-Offset')),
  INVALID_CONTENT_TYPE: () => new PipelineError('tus_header_missing', 'a PATCH needs Content-Type: application/offset+octet-stream', inHeader('Content-Type')),
  // The request was stopped: a newer request on the upload took its lock, or its body broke off.
  ABORTED: () => new PipelineError('upload_aborted', 'the request was stopped before its end (another request on this upload took over, or its body broke off)'),
  INVALID_TERMINATION: () => new PipelineError('upload_finished', 'the upload is finished: it is a video now; delete the video instead'),
  ERR_LOCK_TIMEOUT: () => uploadLockTimedOut(),
  FILE_NOT_FOUND: () => new PipelineError('not_found', 'no such upload'),
  INVALID_OFFSET: () => new PipelineError('upload_offset_mismatch', 'Upload-Offset is not the upload’s offset: HEAD for it and go on from there', inHeader('Upload-Offset')),
  FILE_NO_LONGER_EXISTS: () => new PipelineError('upload_expired', 'the upload expired before it was finished: start a new one'),
  // Bytes past the upload's length, or (its length deferred) past the largest upload: whichever the request's declared length passes.
  ERR_SIZE_EXCEEDED: ({ headers }, maxUploadBytes) => {
    const end = Number(headers['upload-offset'] ?? 0) + Number(headers['content-length'] ?? Number.POSITIVE_INFINITY);
    return end > maxUploadBytes ? tooLarge(maxUploadBytes) : lengthExceeded();
  },
  // An Upload-Length over the largest upload, or a chunked body (no Content-Length) that tus cut off as it passed its limit:
  // the upload's length if known, else (deferred) the largest upload. tus says the same for all of them.
  ERR_MAX_SIZE_EXCEEDED: ({ headers, uploadLength }, maxUploadBytes) => {
    const length = uploadLength ?? (headers['upload-length'] === undefined ? undefined : Number(headers['upload-length']));
    return length !== undefined && length <= maxUploadBytes ? lengthExceeded() : tooLarge(maxUploadBytes);
  },
  INVALID_LENGTH: ({ method }) =>
    method === 'POST'
      ? new PipelineError('invalid_request', 'a creation needs either Upload-Length or Upload-Defer-Length: 1', inHeader('Upload-Length'))
      : new PipelineError('invalid_request', 'Upload-Length is given once, for an upload created with Upload-Defer-Length, and not below its offset', inHeader('Upload-Length')),
  INVALID_METADATA: () => new PipelineError('invalid_request', 'Upload-Metadata is comma-separated `key base64(value)` pairs, each key once', inHeader('Upload-Metadata')),
  UNKNOWN_ERROR: internal,
  FILE_WRITE_ERROR: internal,
  UNSUPPORTED_CONCATENATION_EXTENSION: unsupported('concatenation'),
  UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION: unsupported('creation-defer-length'),
  UNSUPPORTED_EXPIRATION_EXTENSION: unsupported('expiration'),
};
const refusalByBody = new Map(Object.entries(refusals).map(([name, refuse]) => [ERRORS[name as keyof typeof ERRORS].body as string, refuse]));

/** A request without `Tus-Resumable`: 412, with `Tus-Version` as the protocol asks. */
const versionMissing = (): TusRefusal => ({
  error: new PipelineError('tus_version_unsupported', `a tus request needs Tus-Resumable: ${TUS_VERSION[0]}`, inHeader('Tus-Resumable')),
  headers: { 'Tus-Version': TUS_VERSION.join(',') },
});
/** Malformed tus headers (named as tus names them, in lower case): 400 naming them. */
const malformedHeaders = (lowerNames: string[]): TusRefusal => {
  const names = lowerNames.map(headerName);
  return { error: new PipelineError('invalid_request', `malformed tus header: ${names.join(', ')}`, inHeader(names[0]!)) };
};

/**
 * tus' own refusal, as our error; undefined for an answer we do not know
 * (left as tus gave it). tus writes two before its handlers, with bodies of
 * their own: a request without `Tus-Resumable` (412, with `Tus-Version` as
 * the protocol asks) and one with malformed tus headers (400).
 */
export function tusRefusal(answer: TusAnswer, maxUploadBytes: number): TusRefusal | undefined {
  const refuse = refusalByBody.get(answer.body);
  if (refuse) return { error: refuse(answer, maxUploadBytes) };
  if (answer.status === 412) return versionMissing();
  const invalid = answer.status === 400 ? /^Invalid (.+)\n$/.exec(answer.body)?.[1]?.split(' ') : undefined;
  if (invalid?.length) return malformedHeaders(invalid);
  return undefined;
}

/**
 * The refusal tus gives a request (not OPTIONS) for its `Tus-Resumable`,
 * for the requests our middleware answers without tus: none is 412, another
 * version than ours 400 (tus reads it as a malformed header). Undefined for ours.
 */
export function tusVersionRefusal(headers: IncomingHttpHeaders): TusRefusal | undefined {
  const version = headers['tus-resumable'];
  if (!version) return versionMissing();
  return version === TUS_RESUMABLE ? undefined : malformedHeaders(['tus-resumable']);
}
