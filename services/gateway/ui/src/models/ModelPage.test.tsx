import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { job, me, problem, renderWith, serve } from "../quality/testing";
import { page, REVENUE, TOP } from "./fixtures";
import ModelPage from "./ModelPage";

// The api client keeps the fetch it saw when created: spy before it is imported.
const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
// CodeMirror needs layout jsdom lacks; its plain stand-in is the same control (SqlEditor.test).
vi.mock("./SqlCodeMirror", async () => ({ default: (await import("./SqlEditor")).PlainSqlEditor }));

beforeEach(() => fetchSpy.mockReset());

const M = "/api/v1/models/daily_revenue";
const buildJob = (status: "queued" | "succeeded") => ({
  ...job("build", status, status === "succeeded" ? { built: [{ name: "daily_revenue", rows: 31 }, { name: "top_days", rows: 10 }], failed: [] } : null),
  id: "job-build-1",
  dataset: "daily_revenue",
  request: { models: ["daily_revenue"] },
});
const routes = {
  [`GET ${M}`]: REVENUE,
  "GET /api/v1/models": page([REVENUE, TOP]),
  "GET /api/v1/jobs": { jobs: [buildJob("succeeded")], next_cursor: null, next: null },
  [`GET ${M}/sample`]: {
    dataset: "daily_revenue",
    layer: "gold",
    rows: [
      { order_date: "2026-03-01", revenue: 1234.5 },
      { order_date: "2026-03-02", revenue: null },
    ],
    masked: false,
  },
  [`POST ${M}/build`]: new Response(JSON.stringify(buildJob("queued")), { status: 202 }),
  "GET /api/v1/jobs/job-build-1": buildJob("succeeded"),
  "POST /api/v1/models": (call: { body: unknown }) => ({ ...REVENUE, ...(call.body as object), updated_at: "2026-03-02T12:00:00Z" }),
};
const show = (role: "viewer" | "analyst" | "operator" | "admin") =>
  renderWith(<ModelPage />, { who: me(role), route: "/models/daily_revenue", path: "/models/:name" });

describe("ModelPage", () => {
  it("shows the model's SQL, facts, dependencies both ways, tests and builds", async () => {
    serve(fetchSpy, routes);
    show("viewer");
    expect(await screen.findByRole("heading", { level: 1, name: "daily_revenue" })).toBeInTheDocument();
    const sql = await screen.findByRole("textbox", { name: "SQL of model daily_revenue" });
    expect(sql).toHaveValue(REVENUE.sql);
    expect(sql).toHaveAttribute("readonly");
    expect(screen.getByRole("link", { name: "orders" })).toHaveAttribute("href", "/datasets/orders");
    expect(await screen.findByRole("link", { name: "top_days" })).toHaveAttribute("href", "/models/top_days");
    const tests = screen.getByRole("region", { name: "Test results of the last build" });
    expect(within(tests).getByText("not_null_order_date")).toBeInTheDocument();
    const builds = await screen.findByRole("region", { name: "Build jobs of daily_revenue" });
    expect(within(builds).getByText(/built daily_revenue \(31 rows\)/)).toBeInTheDocument();
    // A viewer may not preview, build or save.
    for (const name of ["Preview", "Build now", "Save"])
      expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
  });

  it("previews the model's rows (analyst)", async () => {
    serve(fetchSpy, routes);
    const user = userEvent.setup();
    show("analyst");
    await user.click(await screen.findByRole("button", { name: "Preview" }));
    const rows = await screen.findByRole("region", { name: "Rows of daily_revenue" });
    expect(within(rows).getByText("1234.5")).toBeInTheDocument();
    expect(within(rows).getByText("null")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Build now" })).not.toBeInTheDocument();
  });

  it("shows why a preview is refused", async () => {
    serve(fetchSpy, {
      ...routes,
      [`GET ${M}/sample`]: problem(404, "model 'daily_revenue' has not been built yet: it is built once the data it reads (orders) has landed and passed quality", "Not found"),
    });
    const user = userEvent.setup();
    show("analyst");
    await user.click(await screen.findByRole("button", { name: "Preview" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("has not been built yet");
  });

  it("builds now with a full refresh and follows the job (operator)", async () => {
    const calls = serve(fetchSpy, routes);
    const user = userEvent.setup();
    show("operator");
    await user.click(await screen.findByRole("checkbox", { name: /Full refresh/ }));
    await user.click(screen.getByRole("button", { name: "Build now" }));
    await waitFor(() => expect(calls.find((c) => c.method === "POST")?.query.get("full_refresh")).toBe("true"));
    const status = await screen.findByText(/built daily_revenue \(31 rows\), top_days \(10 rows\)\./, { selector: "div" });
    expect(status.closest("[role=status]")).toHaveTextContent("succeeded");
    expect(screen.queryByRole("button", { name: "Save" })).not.toBeInTheDocument();
  });

  it("saves edited SQL by sending the whole definition back (admin)", async () => {
    const calls = serve(fetchSpy, routes);
    const user = userEvent.setup();
    show("admin");
    const sql = await screen.findByRole("textbox", { name: "SQL of model daily_revenue" });
    const save = screen.getByRole("button", { name: "Save" });
    expect(save).toBeDisabled();
    await user.type(sql, "\nHAVING sum(amount) > 0");
    await user.click(save);
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/models")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      name: "daily_revenue",
      sql: `${REVENUE.sql}\nHAVING sum(amount) > 0`,
      reconcile: { revenue: "orders.amount" },
      materialized: "table",
      unique_key: null,
      strategy: null,
      updated_at: null,
      check_cols: null,
      hard_deletes: "ignore",
      description: "Revenue per day",
      column_docs: { revenue: "sum of valid order amounts" },
      tests: REVENUE.tests,
    });
    expect(await screen.findByText(/Saved; the model is rebuilt/)).toBeInTheDocument();
  });

  it("shows a missing model's problem", async () => {
    serve(fetchSpy, { ...routes, [`GET ${M}`]: problem(404, "no Gold model named 'daily_revenue'", "Not found") });
    show("viewer");
    expect(await screen.findByRole("alert")).toHaveTextContent("no Gold model named 'daily_revenue'");
  });
});

describe("ModelPage, a failed build", () => {
  it("says at the top that the last build failed, and why", async () => {
    serve(fetchSpy, { ...routes, "GET /api/v1/models/top_days": TOP });
    renderWith(<ModelPage />, { who: me("viewer"), route: "/models/top_days", path: "/models/:name" });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The last build failed (the table keeps its last good version)");
    expect(alert).toHaveTextContent('Referenced column "revenu" not found');
    expect(screen.getByRole("link", { name: "daily_revenue" })).toHaveAttribute("href", "/models/daily_revenue");
    expect(screen.getByRole("link", { name: "calendar" })).toHaveAttribute("href", "/datasets/calendar");
  });
});
