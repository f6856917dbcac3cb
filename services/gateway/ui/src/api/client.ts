// The one HTTP client of the UI: typed from the gateway's OpenAPI document (schema.d.ts is
// generated, never edited), same origin, the session cookie sent by the browser and the CSRF
// token echoed on every change. Errors become ApiError carrying the problem's `detail`.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail || title);
  }
}

export function csrfToken(): string | undefined {
  const match = document.cookie.match(/(?:^|;\s*)ff_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : undefined;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!["GET", "HEAD", "OPTIONS"].includes(request.method)) {
      const token = csrfToken();
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  credentials: "same-origin",
  // Looked up at each call (not captured once), so tests can answer for the network.
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(csrf);

export function toApiError(response: Response | undefined, body: unknown): ApiError {
  const problem = (body ?? {}) as { title?: string; detail?: unknown };
  const status = response?.status ?? 0;
  let detail = "";
  if (typeof problem.detail === "string") detail = problem.detail;
  else if (Array.isArray(problem.detail))
    detail = problem.detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg ?? ""}`)
      .join("; ");
  const title = problem.title ?? response?.statusText ?? "request failed";
  return new ApiError(status, title, detail || `${title} (HTTP ${status || "no answer"})`);
}

/** The data of an openapi-fetch answer, or its problem thrown as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw toApiError(response, error);
  return data as T;
}

/** A request openapi-fetch cannot type (downloads, uploads with progress). */
export async function raw(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const method = (init.method ?? "GET").toUpperCase();
  const token = csrfToken();
  if (token && !["GET", "HEAD"].includes(method)) headers.set("X-CSRF-Token", token);
  const response = await fetch(path, { ...init, headers, credentials: "same-origin" });
  if (!response.ok) {
    const body = await response.json().catch(() => undefined);
    throw toApiError(response, body);
  }
  return response;
}
