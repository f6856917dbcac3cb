import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeGateway, meAs, NOW, renderPage } from "../sources/testkit";
import ProposalPage from "./ProposalPage";

const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
afterEach(() => fetchSpy.mockReset());

const ID = "a".repeat(32);
const PROPOSAL = {
  id: ID,
  dataset: "orders",
  origin: { kind: "file", filename: "orders.csv" },
  status: "ready",
  source: "offline",
  parts: {
    key: ["order_id"],
    silver: { renames: {}, types: { order_date: "date:%Y-%m-%d" } },
    rules: [{ name: "format_e_mail", type: "format", column: "e_mail", format: "email", action: "quarantine" }],
    model: { name: "orders_by_state_month", sql: "SELECT state, count(*) AS row_count FROM orders GROUP BY ALL" },
    schedule: { name: "orders_landed", on_event: { subject: "file.landed", dataset: "orders" }, steps: [] },
  },
  reasons: { key: "order_id is present and distinct in every row", model: "rows by state month" },
  refused: [{ part: "rules", reason: "not_null on Customer Tier: not a column rule this dataset has" }],
  columns: [],
  pii: ["e_mail"],
  sample: { rows: 40 },
  dry_run: {
    silver: { bronze: 40, silver: 40, duplicates: 0, preview: [{ order_id: 1001, state: "CA" }] },
    quality: {
      quarantined: 1,
      valid: 39,
      checks: [{ name: "format_e_mail", action: "quarantine", failed_rows: 1, status: "failed" }],
    },
    model: { rows: 4, preview: [{ state: "CA", row_count: 10 }] },
    errors: {},
  },
  decisions: {},
  error: null,
  created_by: "user:ada",
  created_at: NOW,
  updated_at: NOW,
};

describe("ProposalPage", () => {
  it("shows the parts, the refused LLM proposal and the dry run; an admin accepts the parts ticked", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      [`GET /api/v1/proposals/${ID}`]: PROPOSAL,
      [`POST /api/v1/proposals/${ID}/accept`]: {
        id: ID,
        dataset: "orders",
        accepted: ["key", "silver", "rules", "schedule"],
        refused: {},
        already_accepted: [],
        status: "partly_accepted",
        decisions: {},
      },
    });
    renderPage(<ProposalPage />, { me: meAs("admin"), path: `/proposals/${ID}`, pattern: "/proposals/:id" });
    expect(await screen.findByRole("heading", { name: "Proposal for orders" })).toBeInTheDocument();
    expect(screen.getByText(/Customer Tier: not a column rule/)).toBeInTheDocument();
    expect(screen.getByText(/1 would be quarantined/)).toBeInTheDocument();
    await user.click(screen.getByRole("checkbox", { name: "Accept the model part" }));
    await user.click(screen.getByRole("button", { name: "Accept selected parts" }));
    expect(await screen.findByText(/Accepted: key, silver, rules, schedule/)).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ parts: ["key", "silver", "rules", "schedule"] });
  });

  it("shows a viewer the proposal without anything to accept", async () => {
    fakeGateway(fetchSpy, { [`GET /api/v1/proposals/${ID}`]: PROPOSAL });
    renderPage(<ProposalPage />, { me: meAs("viewer"), path: `/proposals/${ID}`, pattern: "/proposals/:id" });
    expect(await screen.findByRole("heading", { name: "Proposal for orders" })).toBeInTheDocument();
    expect(screen.queryByRole("checkbox")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Accept selected parts" })).not.toBeInTheDocument();
  });
});
