import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyConfig, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { PipelineError } from '@video-pipeline/errors';

export type FormLimits = NonNullable<BusboyConfig['limits']>;

export type FormPart = { kind: 'file'; name: string; stream: Readable } | { kind: 'field'; name: string; value: string };

/**
 * The parts of a `multipart/form-data` body, in the order they arrive, read
 * with busboy (fastify's fork, the parser this API has always used) as they
 * stream in. A file part's stream must be read to its end
 * before the next part can arrive (or the loop left: its bytes are then
 * dropped). Leaving the loop stops reading the body, and the rest of it is
 * left unread for the caller to deal with.
 *
 * Parser and limit errors become our codes: `invalid_request` for a body that
 * cannot be parsed, `too_many_parts` past the limits' counts,
 * `upload_aborted` for a request that ends before its body. A file that ends
 * early fails its own stream.
 */
export async function* formParts(request: Readable & { headers: IncomingHttpHeaders; complete: boolean }, limits: FormLimits): AsyncGenerator<FormPart> {
  let parser: BusboyInstance;
  try {
    parser = new Busboy({ headers: request.headers as BusboyHeaders, limits });
  } catch (error) {
    throw malformed(error);
  }
  const arrived: FormPart[] = [];
  let failure: PipelineError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  parser.on('file', (name, stream) => {
    // Its reader hears of its errors (a body that ends inside it), also one that starts reading after the error:
    // the stream is left errored. This keeps a part nobody reads from crashing the process.
    stream.on('error', (error) => stream.destroy(error));
    arrived.push({ kind: 'file', name, stream });
    notify();
  });
  parser.on('field', (name, value) => {
    arrived.push({ kind: 'field', name, value });
    notify();
  });
  for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
    parser.on(limit, () => {
      failure ??= new PipelineError('too_many_parts', `an upload has at most ${limits.files} files, ${limits.fields} fields and ${limits.parts} parts`);
      notify();
    });
  }
  parser.on('error', (error) => {
    failure ??= malformed(error);
    notify();
  });
  parser.on('finish', () => {
    ended = true;
    notify();
  });
  // A request that ends before its body did (the client went away, or half-closed early) ends the parts,
  // even when the multipart document inside it looked complete: the parser would wait for an end that never comes.
  const onRequestClose = () => {
    if (request.complete) return;
    failure ??= new PipelineError('upload_aborted', 'the request ended before its body was complete');
    notify();
  };
  request.once('close', onRequestClose);
  // It may have ended already, while the caller was busy before reading it (a quota check, say).
  if ((request as Readable & { closed?: boolean }).closed) onRequestClose();
  request.pipe(parser);

  try {
    for (;;) {
      // Parts that arrived before a failure come first, in order, as the client sent them.
      const part = arrived.shift();
      if (part) yield part;
      else if (failure) throw failure;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    request.off('close', onRequestClose);
    request.unpipe(parser);
    for (const part of arrived) if (part.kind === 'file') part.stream.resume();
    parser.destroy();
  }
}

function malformed(error: unknown): PipelineError {
  return new PipelineError('invalid_request', `the multipart body is malformed: ${(error as Error).message}`, { cause: error });
}
