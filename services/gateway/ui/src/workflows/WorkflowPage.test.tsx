import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Call, fakeGateway, meAs, NOW, problem, renderPage } from "../sources/testkit";
import WorkflowPage from "./WorkflowPage";
import WorkflowsPage from "./WorkflowsPage";

const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
// React Flow measures the page (ResizeObserver, layout): jsdom has neither. The list of steps
// beside the graph carries the same facts and is tested here.
vi.mock("./WorkflowGraph", () => ({ default: () => <div>step graph</div> }));

const RUN_ID = "0123456789abcdef0123456789abcdef";
const DEFINITION = {
  name: "nightly",
  description: "orders, then revenue",
  schedule: { cron: "0 2 * * *", timezone: "Europe/Berlin" },
  steps: [
    { name: "extract", extract: "orders", retries: 2 },
    { name: "models", build: ["revenue"], needs: ["extract"] },
  ],
};

function workflow(paused: boolean) {
  return {
    name: "nightly",
    definition: DEFINITION,
    origin: "api",
    paused,
    last_tick: NOW,
    next_tick: "2026-03-03T01:00:00Z",
    last_run: null,
    created_at: NOW,
    updated_at: NOW,
  };
}

function run(status: string, steps: { name: string; status: string }[] = []) {
  return {
    id: RUN_ID,
    workflow: "nightly",
    status,
    trigger: "manual",
    logical_start: null,
    logical_end: null,
    params: {},
    reason: null,
    created_at: NOW,
    started_at: NOW,
    finished_at: null,
    seconds: null,
    steps: steps.map((s) => ({ ...s, attempts: 1, pipeline_runs: s.status === "running" ? ["orders-run-1"] : [] })),
    notifications: [],
  };
}

afterEach(() => fetchSpy.mockReset());

describe("WorkflowPage", () => {
  it("runs now, shows the run's steps, cancels it, and pauses then resumes the workflow", async () => {
    const user = userEvent.setup();
    let paused = false;
    let current = run("queued");
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/workflows/nightly": () => workflow(paused),
      "GET /api/v1/workflows/nightly/runs": () => ({ runs: current.status === "queued" && !calls.some((c) => c.method === "POST") ? [] : [current], next_cursor: null }),
      "POST /api/v1/workflows/nightly/runs": () => {
        current = run("running", [
          { name: "extract", status: "running" },
          { name: "models", status: "pending" },
        ]);
        return current;
      },
      [`GET /api/v1/workflows/nightly/runs/${RUN_ID}`]: () => current,
      [`POST /api/v1/workflows/nightly/runs/${RUN_ID}/cancel`]: () => {
        current = { ...run("cancelled"), steps: current.steps.map((s) => ({ ...s, status: "cancelled" })) };
        return current;
      },
      "POST /api/v1/workflows/nightly/pause": () => {
        paused = true;
        return workflow(true);
      },
      "POST /api/v1/workflows/nightly/resume": () => {
        paused = false;
        return workflow(false);
      },
    });
    renderPage(<WorkflowPage />, { me: meAs("operator"), path: "/workflows/nightly", pattern: "/workflows/:name" });

    expect(await screen.findByText("cron 0 2 * * * (Europe/Berlin)")).toBeInTheDocument();
    const steps = screen.getByRole("list", { name: "Steps in order" });
    expect(within(steps).getByText(/after extract/)).toBeInTheDocument();
    expect(await screen.findByText("No runs yet.")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Run now" }));
    const post = calls.find((c) => c.method === "POST" && c.path === "/api/v1/workflows/nightly/runs") as Call;
    expect(post).toBeDefined();
    const stepTable = await screen.findByRole("region", { name: `Steps of run ${RUN_ID.slice(0, 12)}` });
    expect(within(stepTable).getByRole("link", { name: "orders-run-1" })).toHaveAttribute("href", "/runs/orders-run-1");
    expect(await screen.findByRole("button", { name: `Show run ${RUN_ID.slice(0, 12)}` })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument());
    expect(calls.some((c) => c.path.endsWith(`/runs/${RUN_ID}/cancel`))).toBe(true);

    await user.click(screen.getByRole("button", { name: "Pause" }));
    expect(await screen.findByRole("button", { name: "Resume" })).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/workflows/nightly/pause")).toBe(true);
    await user.click(screen.getByRole("button", { name: "Resume" }));
    expect(await screen.findByRole("button", { name: "Pause" })).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/workflows/nightly/resume")).toBe(true);
  });

  it("backfills an interval and shows a refusal's detail", async () => {
    const user = userEvent.setup();
    let first = true;
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/workflows/nightly": workflow(false),
      "GET /api/v1/workflows/nightly/runs": { runs: [], next_cursor: null },
      "POST /api/v1/workflows/nightly/backfill": () => {
        if (first) {
          first = false;
          return problem(400, "a backfill of at most 1,000 intervals");
        }
        return {
          workflow: "nightly",
          runs: 2,
          run_ids: ["a", "b"],
          intervals: [
            { start: "2026-02-28T01:00:00Z", end: "2026-03-01T01:00:00Z" },
            { start: "2026-03-01T01:00:00Z", end: "2026-03-02T01:00:00Z" },
          ],
        };
      },
    });
    renderPage(<WorkflowPage />, { me: meAs("operator"), path: "/workflows/nightly", pattern: "/workflows/:name" });
    await user.type(await screen.findByLabelText(/^From/), "2026-02-28T00:00");
    await user.type(screen.getByLabelText(/^To/), "2026-03-02T12:00");
    await user.click(screen.getByRole("button", { name: "Backfill" }));
    expect(await screen.findByText("a backfill of at most 1,000 intervals")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Backfill" }));
    expect(await screen.findByText(/2 run\(s\) queued/)).toBeInTheDocument();
    const body = calls.find((c) => c.path.endsWith("/backfill"))?.body as { start: string; end: string };
    expect(body.start).toBe(new Date("2026-02-28T00:00").toISOString());
    expect(body.end).toBe(new Date("2026-03-02T12:00").toISOString());
  });

  it("shows a viewer no buttons that change anything", async () => {
    fakeGateway(fetchSpy, {
      "GET /api/v1/workflows/nightly": workflow(false),
      "GET /api/v1/workflows/nightly/runs": { runs: [], next_cursor: null },
    });
    renderPage(<WorkflowPage />, { me: meAs("viewer"), path: "/workflows/nightly", pattern: "/workflows/:name" });
    expect(await screen.findByText("cron 0 2 * * * (Europe/Berlin)")).toBeInTheDocument();
    for (const name of ["Run now", "Pause", "Backfill", "Edit definition"])
      expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
  });
});

describe("WorkflowsPage", () => {
  it("lists workflows and shows the fields a refused definition names", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/workflows": {
        workflows: [{ ...workflow(true), last_run: run("failed") }],
      },
      "PUT /api/v1/workflows/broken": problem(400, "steps[0].extract: no source for dataset 'nope'"),
    });
    renderPage(<WorkflowsPage />, { me: meAs("admin"), path: "/workflows", pattern: "/workflows" });
    const table = await screen.findByRole("region", { name: "Workflows" });
    expect(within(table).getByRole("link", { name: "nightly" })).toHaveAttribute("href", "/workflows/nightly");
    expect(within(table).getByText("paused")).toBeInTheDocument();
    expect(within(table).getByText("failed")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "New workflow" }));
    const editor = screen.getByRole("textbox", { name: "Definition (JSON)" });
    // The prefilled example is valid JSON with steps.
    expect(JSON.parse((editor as HTMLTextAreaElement).value).steps.length).toBeGreaterThan(0);
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "broken");
    await user.click(screen.getByRole("button", { name: "Save workflow" }));
    const refused = await screen.findByRole("list", { name: "Fields refused" });
    expect(refused).toHaveTextContent("steps[0].extract: no source for dataset 'nope'");
    const put = calls.find((c) => c.method === "PUT") as Call;
    expect((put.body as { steps: unknown[] }).steps.length).toBeGreaterThan(0);

    await user.clear(editor);
    await user.type(editor, "{{ not json");
    await user.click(screen.getByRole("button", { name: "Save workflow" }));
    expect(await screen.findByText(/not valid JSON/)).toBeInTheDocument();
  });
});
