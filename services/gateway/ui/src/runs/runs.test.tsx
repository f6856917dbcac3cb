import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { json, mockApi, renderAt } from "../test/render";
import { rowEquation } from "./api";
import RunPage from "./RunPage";
import RunsPage from "./RunsPage";

const NOW = new Date().toISOString();
const run = (id: string, status = "succeeded") => ({
  run_id: id,
  dataset: "orders",
  filename: "orders.csv",
  status,
  created_at: NOW,
  updated_at: NOW,
  stages: [
    { name: "ingest", status: "succeeded", started_at: NOW, finished_at: NOW },
    { name: "silver", status: status === "failed" ? "failed" : "succeeded", error: status === "failed" ? "bad column" : null },
  ],
  counts: { parsed: 10, rejected: 1, bronze: 9, duplicates: 2, silver: 7, quarantined: 1, valid: 6 },
  checks: [],
});

afterEach(() => vi.restoreAllMocks());

describe("rowEquation", () => {
  it("holds when the parts add up and says so when they do not", () => {
    const lines = rowEquation({ parsed: 10, rejected: 1, bronze: 9, duplicates: 2, silver: 6, quarantined: null, valid: 6 });
    expect(lines.map((l) => [l.left, l.known, l.holds])).toEqual([
      ["parsed", true, true],
      ["bronze", true, false],
      ["silver", false, false],
    ]);
  });
});

describe("RunsPage", () => {
  it("lists runs and asks the API with the chosen filter", async () => {
    const { calls } = mockApi({ "GET /api/v1/runs": { runs: [run("r-1"), run("r-2", "failed")], next_cursor: null } });
    renderAt(<RunsPage />, "/runs");
    expect(await screen.findByRole("link", { name: "r-1" })).toBeInTheDocument();
    expect(screen.getAllByText("failed").length).toBeGreaterThan(0);
    await userEvent.selectOptions(screen.getByLabelText("Status"), "failed");
    await vi.waitFor(() =>
      expect(calls.some((c) => new URL(c.url).searchParams.get("status") === "failed")).toBe(true),
    );
  });

  it("shows the API's problem detail when the list fails", async () => {
    mockApi({ "GET /api/v1/runs": json({ title: "Service Unavailable", detail: "catalog did not answer in 5 s" }, 503) });
    renderAt(<RunsPage />, "/runs");
    expect(await screen.findByRole("alert")).toHaveTextContent("catalog did not answer in 5 s");
  });

  it("says so when there is no run yet", async () => {
    mockApi({ "GET /api/v1/runs": { runs: [], next_cursor: null } });
    renderAt(<RunsPage />, "/runs");
    expect(await screen.findByText(/No runs yet/)).toBeInTheDocument();
  });
});

describe("RunPage", () => {
  it("shows the stages, the row equation, rejected lines and the event log", async () => {
    mockApi({
      "GET /api/v1/runs/r-1": run("r-1", "failed"),
      "GET /api/v1/runs/r-1/rejected": { run_id: "r-1", count: 1, rows: [{ line: 4, reason: "unterminated quoted field", raw: '4,"x' }] },
      "GET /api/v1/runs/r-1/events": {
        run_id: "r-1",
        events: [
          { id: "e1", subject: "file.landed", service: "gateway", at: NOW, summary: "orders.csv landed", payload: {} },
          { id: "e2", subject: "bronze.ready", service: "ingest", at: NOW, summary: "bronze: 9 rows", payload: { rows: 9 } },
        ],
      },
    });
    renderAt(<RunPage />, "/runs/r-1", "/runs/:runId");
    const stages = await screen.findByRole("list", { name: "Stages" });
    expect(within(stages).getByText("bad column")).toBeInTheDocument();
    expect(screen.getByLabelText("Row equation")).toHaveTextContent("parsed 10 = rejected 1 + bronze 9 ✓");
    expect(screen.getByLabelText("Row equation")).toHaveTextContent("bronze 9 = duplicates 2 + silver 7 ✓");
    expect(await screen.findByText("unterminated quoted field")).toBeInTheDocument();
    const log = await screen.findByRole("table", { name: "Event log" });
    expect(within(log).getByText("file.landed")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Filter events"), "ingest");
    expect(within(log).queryByText("file.landed")).not.toBeInTheDocument();
    expect(within(log).getByText("bronze.ready")).toBeInTheDocument();
  });
});
