// Test helpers for the quality and models tests: a fake gateway behind the fetch spy, and a
// render with a fresh query cache and a router. The api client keeps the `fetch` it saw when
// it was created, so each test file installs the spy first, before any import:
//   const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import type { MockInstance } from "vitest";

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  text: string;
  body: unknown;
}

type Answer = Response | unknown;
export type FakeRoutes = Record<string, Answer | ((call: Call) => Answer | Promise<Answer>)>;

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

/** A problem answer as the gateway sends it (RFC 9457). */
export function problem(status: number, detail: string, title = "Bad request"): Response {
  return json({ type: `https://flowforge.dev/problems/${status}`, title, status, detail, error: detail }, status);
}

export const me = (role: "viewer" | "analyst" | "operator" | "admin") => ({
  kind: "user",
  name: "ada",
  role,
  key_id: null,
  csrf_token: null,
  expires_at: null,
});

/** Answer requests by "METHOD /path" (no query); each call is recorded. */
export function serve(spy: MockInstance<typeof fetch>, routes: FakeRoutes): Call[] {
  const calls: Call[] = [];
  spy.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request =
      input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.clone().text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const call = { method: request.method, path: url.pathname, query: url.searchParams, headers: request.headers, text, body };
    calls.push(call);
    const route = routes[`${request.method} ${url.pathname}`];
    if (route === undefined)
      return problem(404, `no fake answer for ${request.method} ${url.pathname}`, "Not found");
    const answer = typeof route === "function" ? await (route as (c: Call) => Answer)(call) : route;
    return answer instanceof Response ? answer : json(answer);
  });
  return calls;
}

/** Render in a fresh query cache and a router; `who` signs someone in (as the shell does
 * before any page shows). */
export function renderWith(
  ui: ReactElement,
  { route = "/", path, who }: { route?: string; path?: string; who?: ReturnType<typeof me> } = {},
) {
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  if (who) client.setQueryData(["me"], who);
  const view = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>
        {path ? (
          <Routes>
            <Route path={path} element={ui} />
          </Routes>
        ) : (
          ui
        )}
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...view, client };
}

export const job = (kind: string, status: "queued" | "running" | "succeeded" | "failed", result: unknown = null) => ({
  id: `job-${kind}-1`,
  kind,
  dataset: "orders",
  status,
  request: {},
  result,
  error: null,
  created_at: "2026-03-02T10:00:00Z",
  started_at: status === "queued" ? null : "2026-03-02T10:00:00Z",
  finished_at: status === "succeeded" || status === "failed" ? "2026-03-02T10:00:02Z" : null,
});
