import { ApiError, type Video } from '../api';
import { titleFromFileName, type Transfer, type TransferEvents } from './transfer';

/** `POST /v1/videos` as multipart, through XMLHttpRequest for its upload progress events. */
export function simpleUpload(file: File, key: string, events: TransferEvents): Transfer {
  const xhr = new XMLHttpRequest();
  let cancelled = false;
  xhr.upload.addEventListener('progress', (event) => events.onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
  xhr.addEventListener('load', () => {
    if (xhr.status === 201) {
      const video = JSON.parse(xhr.responseText) as Video;
      events.onProgress(file.size, file.size);
      events.onSuccess(video.id);
    } else {
      events.onError(apiErrorFromXhr(xhr));
    }
  });
  xhr.addEventListener('error', () => {
    // The API may answer a refusal before the body is sent and close the connection: the browser reports
    // that as a network error only when it could not read the answer.
    if (!cancelled) events.onError(xhr.status ? apiErrorFromXhr(xhr) : new ApiError(0, 'network', 'The upload was interrupted: the connection to the server was lost. Try again.'));
  });
  return {
    start() {
      const form = new FormData();
      // The title first: the API reads the parts in order and streams the file as it comes.
      form.append('title', titleFromFileName(file.name));
      form.append('file', file, file.name);
      xhr.open('POST', '/v1/videos');
      xhr.setRequestHeader('Authorization', `Bearer ${key}`);
      xhr.send(form);
    },
    cancel() {
      cancelled = true;
      xhr.abort();
    },
  };
}

/** The API's error from a finished request, or one in words when the answer is not the API's JSON. */
export function apiErrorFromXhr(xhr: XMLHttpRequest): ApiError {
  try {
    const body = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string }; requestId?: string };
    if (body.error?.code) return new ApiError(xhr.status, body.error.code, body.error.message ?? body.error.code, body.requestId);
  } catch {
    // not JSON
  }
  if (xhr.status === 0) return new ApiError(0, 'network', 'The connection to the server was lost. Check your network and try again.');
  return new ApiError(xhr.status, `http_${xhr.status}`, `The server answered ${xhr.status}`);
}
