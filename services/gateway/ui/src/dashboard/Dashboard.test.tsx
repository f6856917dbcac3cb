import { screen } from "@testing-library/react";
import { json, mockApi, renderAt } from "../test/render";
import { Dashboard } from "./Dashboard";

const NOW = new Date().toISOString();
const BODY = {
  generated_at: NOW,
  runs: { available: true, queued: 1, running: 2, succeeded: 30, failed: 3, rows_landed: 123456, rows_parsed: 123460, rows_rejected: 4 },
  failing_checks: { available: true, datasets: [{ dataset: "orders", run_id: "r-9", rules: ["amount_positive"], at: NOW }] },
  stale_datasets: { available: false, detail: "catalog did not answer in 5 s", rule: "older than 24 h", default_max_age_seconds: 86400, datasets: [] },
  alerts: { available: true, unavailable: [], alerts: [{ at: NOW, kind: "run_failed", text: "orders.csv failed: bad header", run_id: "r-8", dataset: "orders" }] },
};

afterEach(() => vi.restoreAllMocks());

it("shows the day's runs, failing checks and alerts, and says which part is missing", async () => {
  mockApi({ "GET /api/v1/dashboard": BODY });
  renderAt(<Dashboard />);
  await screen.findByText("123,456");
  const succeeded = screen.getAllByRole("link").find((a) => a.getAttribute("href") === "/runs?status=succeeded");
  expect(succeeded).toHaveAccessibleName(/30\s*runs succeeded in the last 24 hours/);
  expect(screen.getByText("123,456")).toBeInTheDocument();
  expect(screen.getByText(/amount_positive/)).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "orders.csv failed: bad header" })).toHaveAttribute("href", "/runs/r-8");
  expect(screen.getByText(/catalog did not answer in 5 s/)).toBeInTheDocument();
});

it("shows the problem when the dashboard cannot be read", async () => {
  mockApi({ "GET /api/v1/dashboard": json({ title: "Forbidden", detail: "needs the viewer role" }, 403) });
  renderAt(<Dashboard />);
  expect(await screen.findByRole("alert")).toHaveTextContent("needs the viewer role");
});
