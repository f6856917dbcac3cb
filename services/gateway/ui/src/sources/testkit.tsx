// Test helpers for the sources, workflows and admin pages: a fake gateway behind the fetch
// spy, and a page rendered with a query cache (who is signed in already known) and a router.
//
// openapi-fetch keeps the `fetch` it finds when the client is made, so each test file spies
// on it before anything is imported:  const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import type { MockInstance } from "vitest";
import type { Schemas } from "../api/client";

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Answer = unknown | Response;
export type Routes = Record<string, Answer | ((call: Call) => Answer | Promise<Answer>)>;

export function json(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

/** An RFC 9457 problem as the gateway answers it. */
export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): Response {
  const title = { 400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "The request is not valid" }[status] ?? "Error";
  return json({ type: `/problems/x`, title, status, detail, error: detail, ...extra }, status);
}

/** Answers requests from `routes` ("METHOD /path" → body, Response or function); records every call. */
export function fakeGateway(spy: MockInstance<typeof fetch>, routes: Routes): Call[] {
  const calls: Call[] = [];
  spy.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url, "http://localhost");
    const text = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
    const call: Call = {
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
    };
    calls.push(call);
    const route = routes[`${call.method} ${call.path}`];
    if (route === undefined) return problem(404, `no fake for ${call.method} ${call.path}`);
    const answer = typeof route === "function" ? await route(call) : route;
    return answer instanceof Response ? answer : json(answer, call.method === "POST" ? 201 : 200);
  });
  return calls;
}

export function meAs(role: Schemas["MePublic"]["role"], name = "ada"): Schemas["MePublic"] {
  return { kind: "user", name, role };
}

/** Render `element` at `path` (matched by `pattern`) with a fresh query cache. */
export function renderPage(
  element: ReactNode,
  { me, path, pattern }: { me: Schemas["MePublic"]; path: string; pattern: string },
) {
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
  client.setQueryData(["me"], me);
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={pattern} element={element} />
          <Route path="*" element={<p>elsewhere</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

export const NOW = "2026-03-02T10:00:00Z";
