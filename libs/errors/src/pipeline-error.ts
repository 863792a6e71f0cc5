import { errorCodes, type ErrorCode } from './codes';

/** An error whose `code` is one of the closed set in `errorCodes`. */
export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** Extra machine-readable facts, safe to show to the caller. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, { cause: options?.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.retriable = errorCodes[code].retriable;
    this.details = options?.details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export function isPipelineError(error: unknown): error is PipelineError {
  return error instanceof PipelineError;
}

/** Wraps anything thrown into a PipelineError, keeping the original as `cause`. */
export function toPipelineError(error: unknown, fallback: ErrorCode = 'internal'): PipelineError {
  if (error instanceof PipelineError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PipelineError(fallback, message, { cause: error });
}
