import fs from 'node:fs';
import path from 'node:path';

export interface UploadResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs a multipart upload the way a browser or curl would. */
export async function uploadFile(
  baseUrl: string,
  apiKey: string | undefined,
  parts: { file?: { path: string; name?: string; type?: string } | { bytes: Buffer; name?: string; type?: string }; fields?: Record<string, string>; extraFiles?: Record<string, Buffer>; headers?: Record<string, string> },
): Promise<UploadResponse> {
  const form = new FormData();
  for (const [name, value] of Object.entries(parts.fields ?? {})) form.append(name, value);
  if (parts.file) {
    const blob =
      'path' in parts.file
        ? await fs.openAsBlob(parts.file.path, { type: parts.file.type ?? 'video/mp4' })
        : new Blob([parts.file.bytes], { type: parts.file.type ?? 'video/mp4' });
    form.append('file', blob, parts.file.name ?? ('path' in parts.file ? path.basename(parts.file.path) : 'upload.mp4'));
  }
  for (const [name, bytes] of Object.entries(parts.extraFiles ?? {})) form.append(name, new Blob([bytes]), `${name}.bin`);
  const response = await fetch(`${baseUrl}/v1/videos`, {
    method: 'POST',
    headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...parts.headers },
    body: form,
  });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => undefined) };
}

export async function getJson(baseUrl: string, pathname: string, apiKey?: string): Promise<UploadResponse> {
  const response = await fetch(`${baseUrl}${pathname}`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => undefined) };
}
