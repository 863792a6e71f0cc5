import { apiErrorFromXhr, ApiError, type Video } from '../api';
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
