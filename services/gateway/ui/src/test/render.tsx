// Rendering a page for a component test: a fresh query cache, a router at `path`, and fetch
// answered by `routes` ("GET /api/v1/runs" -> body, or a Response for errors).
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router";

export type Answer = unknown | Response | ((request: Request) => unknown | Response);

export function json(body: unknown, status = 200): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

export function mockApi(routes: Record<string, Answer>) {
  const calls: Request[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    calls.push(request);
    const url = new URL(request.url, "http://localhost");
    const key = `${request.method} ${url.pathname}`;
    const answer = routes[key];
    if (answer === undefined) return json({ title: "Not Found", detail: `no mock for ${key}` }, 404);
    const value = typeof answer === "function" ? (answer as (r: Request) => unknown)(request) : answer;
    return value instanceof Response ? value : json(value);
  });
  return { calls, spy };
}

export function renderAt(ui: ReactElement, path = "/", pattern = "*") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={pattern} element={ui} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
