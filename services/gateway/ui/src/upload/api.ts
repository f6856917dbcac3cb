// Uploading a file with progress: XMLHttpRequest, because fetch reports no upload progress.
import { csrfToken, type Schemas, toApiError } from "../api/client";

export type Accepted = Schemas["UploadAccepted"];

export interface UploadForm {
  file: File;
  dataset?: string;
  key?: string;
  encoding?: string;
}

export function upload(
  form: UploadForm,
  onProgress: (sent: number, total: number) => void,
): { done: Promise<Accepted>; cancel: () => void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Accepted>((resolve, reject) => {
    const body = new FormData();
    body.append("file", form.file);
    if (form.dataset) body.append("dataset", form.dataset);
    if (form.key) body.append("key", form.key);
    if (form.encoding) body.append("encoding", form.encoding);
    xhr.open("POST", "/api/v1/files");
    const token = csrfToken();
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : form.file.size);
    xhr.onerror = () => reject(new Error("the upload was interrupted (connection lost)"));
    xhr.onabort = () => reject(new Error("upload cancelled"));
    xhr.onload = () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = undefined;
      }
      // 409: this very content was landed before; the answer names the earlier run.
      if (xhr.status === 202 || xhr.status === 200) resolve(parsed as Accepted);
      else
        reject(
          toApiError(
            new Response(null, { status: xhr.status, statusText: xhr.statusText }),
            parsed,
          ),
        );
    };
    xhr.send(body);
  });
  return { done, cancel: () => xhr.abort() };
}
