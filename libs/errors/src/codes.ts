/**
 * The closed set of error codes the pipeline speaks. Each code carries its
 * HTTP status (for the API) and whether retrying the same work may succeed
 * (for the consumer runtime). Clients match on `code`, never on messages.
 */
export const errorCodes = {
  // Requests
  unauthorized: { status: 401, retriable: false },
  /** A valid key without the right to this route: an owner's key on an admin route, or an admin's on an owner's. */
  forbidden: { status: 403, retriable: false },
  not_found: { status: 404, retriable: false },
  invalid_request: { status: 400, retriable: false },
  /** A route that takes JSON got another content type. */
  not_json: { status: 415, retriable: false },
  /** A JSON body over the API's limit for JSON bodies. */
  body_too_large: { status: 413, retriable: false },
  invalid_cursor: { status: 400, retriable: false },
  not_multipart: { status: 415, retriable: false },
  missing_file: { status: 400, retriable: false },
  empty_file: { status: 400, retriable: false },
  unknown_field: { status: 400, retriable: false },
  duplicate_field: { status: 400, retriable: false },
  field_too_large: { status: 400, retriable: false },
  file_too_large: { status: 413, retriable: false },
  too_many_parts: { status: 413, retriable: false },
  unsupported_media_type: { status: 415, retriable: false },
  upload_aborted: { status: 400, retriable: false },
  /** A request whose headers are over Node's limit (16 KiB in all), answered before any route sees it. */
  headers_too_large: { status: 431, retriable: false },

  // Dependencies
  storage_unavailable: { status: 503, retriable: true },
  database_unavailable: { status: 503, retriable: true },
  broker_unavailable: { status: 503, retriable: true },

  // Events
  malformed_event: { status: 422, retriable: false },
  unsupported_event: { status: 422, retriable: false },
  /** A handler's verdict that this event can never succeed: dead-letter it now. */
  processing_failed: { status: 422, retriable: false },
  /** A handler's verdict that trying again later may succeed. */
  temporarily_unavailable: { status: 503, retriable: true },
  /** The transaction applying handlers' effects ran past the group's commit timeout (or could not start within it). */
  commit_timeout: { status: 503, retriable: true },
  /** A handler's attempt ran past the group's handler time limit and was abandoned. */
  handler_timeout: { status: 503, retriable: true },
  /** The database refused an event's work for good: bad data or a broken constraint (SQLSTATE class 22 or 23). */
  database_rejected: { status: 422, retriable: false },

  // Media: why an upload cannot become a video. Permanent, recorded on the video's stage; never retried.
  /** The file has no video stream (audio only, an image, ...). */
  media_no_video_stream: { status: 422, retriable: false },
  /** A codec or pixel format ffmpeg here cannot decode, or one we do not accept. */
  media_unsupported_codec: { status: 422, retriable: false },
  /** Width or height over the limit (MEDIA_MAX_SIDE). */
  media_resolution_too_large: { status: 422, retriable: false },
  /** Longer than the limit (MEDIA_MAX_DURATION_SECONDS). */
  media_too_long: { status: 422, retriable: false },
  /** Frame rate over the limit (MEDIA_MAX_FPS). */
  media_frame_rate_too_high: { status: 422, retriable: false },
  /** Not a container we recognise, truncated, or broken so that it cannot be decoded. */
  media_undecodable: { status: 422, retriable: false },
  /** A playlist, script or other input that can make ffmpeg open other files or addresses: refused before ffmpeg sees it. */
  media_unsafe_input: { status: 422, retriable: false },
  /** ffmpeg ran past its time limit (MEDIA_TIME_LIMIT_SECONDS) on this source: it would again. */
  media_time_limit_exceeded: { status: 422, retriable: false },
  /** ffmpeg failed for a reason that may not repeat (crashed, killed, ran out of its time limit): retried. */
  media_processing_failed: { status: 503, retriable: true },

  // Consumer runtime: long work detached from the fetch loop
  /** A partition went to another member while its batch ran: the work there was abandoned, for the new owner to do. */
  partition_revoked: { status: 503, retriable: true },

  // Webhooks (issue 21)
  /** A webhook URL that is not https, or whose host is (or resolves to) a loopback, private, link-local, unique-local, multicast or metadata address not in WEBHOOK_ALLOWED_TARGETS. */
  webhook_target_refused: { status: 400, retriable: false },

  // Lifecycle (issue 20): playback, edits, reviews
  /** A playback URL whose token is malformed or not signed by us. */
  playback_token_invalid: { status: 403, retriable: false },
  /** A playback URL whose token has expired: read the video again for a fresh URL. */
  playback_token_expired: { status: 403, retriable: false },
  /** A Range header outside the object. */
  range_not_satisfiable: { status: 416, retriable: false },
  /** An edited title or description with words moderation's blocklist refuses. */
  blocked_text: { status: 422, retriable: false },
  /** A review decision for a video that is not waiting for one. */
  review_not_pending: { status: 409, retriable: false },

  // Everything we did not foresee
  internal: { status: 500, retriable: true },

  // Uploads at real sizes (issue 22): resumable and direct uploads, idempotency, quotas
  /** The owner's stored bytes (its videos and open uploads) would pass its quota (QUOTA_STORED_BYTES). */
  storage_quota_exceeded: { status: 413, retriable: false },
  /** The owner started its quota of uploads in the last 24 hours (QUOTA_UPLOADS_PER_DAY); `Retry-After` says when one more fits. */
  upload_quota_exceeded: { status: 429, retriable: true },
  /** An Idempotency-Key already used with a different request (another body, file or route). */
  idempotency_key_reused: { status: 422, retriable: false },
  /** The first request with this Idempotency-Key is still running; retry after `Retry-After`. */
  idempotency_in_progress: { status: 409, retriable: true },
  /** A direct upload's completion found a part missing, of the wrong size or with another ETag than the client listed. */
  upload_incomplete: { status: 400, retriable: false },

  // tus' own refusals (resumable uploads), at the status tus gives them: tus clients act on the status
  /** No `Tus-Resumable: 1.0.0` on a tus request; the answer's `Tus-Version` says what is served. */
  tus_version_unsupported: { status: 412, retriable: false },
  /** A tus PATCH without `Upload-Offset` or `Content-Type` (`details.parameter`). */
  tus_header_missing: { status: 403, retriable: false },
  /** A tus extension this server does not serve (`details.extension`), e.g. concatenation (parallel uploads). */
  tus_extension_unsupported: { status: 501, retriable: false },
  /** A PATCH whose `Upload-Offset` is not the upload's offset: HEAD for it and go on from there. */
  upload_offset_mismatch: { status: 409, retriable: false },
  /** A request that carries bytes past the upload's declared `Upload-Length`. */
  upload_length_exceeded: { status: 413, retriable: false },
  /** An unfinished upload past its expiry (UPLOAD_EXPIRY_HOURS), not yet swept: start a new one. */
  upload_expired: { status: 410, retriable: false },
  /** Termination of a finished upload: it is a video now; delete the video instead. */
  upload_finished: { status: 400, retriable: false },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof errorCodes;
