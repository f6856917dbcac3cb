import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import QualityPanel from "./QualityPanel";
import { job, me, problem, renderWith, serve } from "./testing";

// The api client keeps the fetch it saw when created: spy before it is imported.
const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));

const D = "/api/v1/datasets/orders";
const RUN_A = "run_20260301_a1b2c3";
const RUN_B = "run_20260302_d4e5f6";

const RULES = {
  dataset: "orders",
  rules: [
    { name: "not_null_order_id", type: "not_null", column: "order_id" },
    { name: "range_amount", type: "range", column: "amount", min: 0, max: 10000 },
  ],
};
const YAML = `# FlowForge data-quality rules (docs/quality.md).
version: 1
dataset: orders
rules:
- name: not_null_order_id
  type: not_null
  column: order_id
- name: range_amount
  type: range
  column: amount
  min: 0
  max: 10000
`;
const check = (name: string, status: string, failed: number) => ({
  name,
  rule_type: name.startsWith("range") ? "range" : "not_null",
  column: name.startsWith("range") ? "amount" : "order_id",
  action: "quarantine",
  status,
  failed_rows: failed,
  total_rows: 1000,
  detail: failed ? `${failed} row(s) fail` : "passed",
  examples: failed ? ["-5", "12000"] : [],
});
const evaluation = (run: string, verdict: string, quarantined: number, withChecks: boolean) => ({
  run_id: run,
  revision: 1,
  trigger: "batch",
  verdict,
  rows: 1000,
  quarantined,
  evaluated_at: "2026-03-02T10:00:00Z",
  seconds: 0.42,
  checks: withChecks ? [check("not_null_order_id", "passed", 0), check("range_amount", "warned", quarantined)] : [],
  failed_by_rule: { not_null_order_id: 0, range_amount: quarantined },
});
const QUALITY = {
  dataset: "orders",
  latest: evaluation(RUN_B, "warned", 3, true),
  trend: [evaluation(RUN_B, "warned", 3, true), evaluation(RUN_A, "passed", 0, false)],
  reconciliation: [],
};
const entry = (run: string, line: number, value: number) => ({
  run_id: run,
  file: "orders.csv",
  line,
  rule: "range_amount",
  column: "amount",
  value,
  reason: `amount ${value} is outside [0, 10000]`,
  row: { order_id: `o-${line}`, amount: value },
});
const QUARANTINE = {
  dataset: "orders",
  total: 3,
  rows: [entry(RUN_A, 4, -5), entry(RUN_A, 9, 12000), entry(RUN_B, 2, -1)],
  masked: false,
};

beforeEach(() => fetchSpy.mockReset());

describe("Rules", () => {
  it.each([
    [400, "rules file is not valid YAML (line 2, column 3): mapping values are not allowed here"],
    [422, "the request is not valid: body: Field required"],
  ])("a YAML save answered %i shows the problem's detail", async (status, detail) => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("admin"),
      [`GET ${D}/rules`]: RULES,
      [`GET ${D}/rules.yaml`]: new Response(YAML, { headers: { "content-type": "application/yaml" } }),
      [`PUT ${D}/rules.yaml`]: problem(status, detail),
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("admin"), route: "/datasets/orders?quality=rules" });
    expect(await screen.findByText("range_amount")).toBeInTheDocument();
    const editor = await screen.findByRole("textbox", { name: "Rules as YAML" });
    await waitFor(() => expect(editor).toHaveValue(YAML));
    await user.clear(editor);
    await user.type(editor, "rules:\n  - type: nope: x");
    await user.click(screen.getByRole("button", { name: "Save rules" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The rules were not saved");
    expect(alert).toHaveTextContent(detail);
    expect(alert).toHaveTextContent(`HTTP ${status}`);
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.headers.get("content-type")).toBe("application/yaml");
    expect(put?.text).toBe("rules:\n  - type: nope: x");
    // The draft is kept to fix it.
    expect(editor).toHaveValue("rules:\n  - type: nope: x");
  });

  it("adds and deletes rules (admin)", async () => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("admin"),
      [`GET ${D}/rules`]: RULES,
      [`GET ${D}/rules.yaml`]: new Response(YAML),
      [`POST ${D}/rules`]: { dataset: "orders", rules: [...RULES.rules, { name: "not_null_email", type: "not_null", column: "email" }] },
      [`DELETE ${D}/rules/range_amount`]: new Response(null, { status: 204 }),
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("admin"), route: "/?quality=rules" });
    await user.type(await screen.findByRole("textbox", { name: "Column" }), "email");
    await user.click(screen.getByRole("button", { name: "Add rule" }));
    await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toEqual({ type: "not_null", column: "email" }));
    await user.click(await screen.findByRole("button", { name: "Delete rule range_amount" }));
    await user.click(screen.getByRole("button", { name: "Confirm deleting rule range_amount" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === `${D}/rules/range_amount`)).toBe(true));
  });

  it("shows a viewer the rules read-only", async () => {
    serve(fetchSpy, {
      "GET /api/v1/auth/me": me("viewer"),
      [`GET ${D}/rules`]: RULES,
      [`GET ${D}/rules.yaml`]: new Response(YAML),
    });
    renderWith(<QualityPanel dataset="orders" />, { who: me("viewer"), route: "/?quality=rules" });
    expect(await screen.findByText("range_amount")).toBeInTheDocument();
    expect(await screen.findByRole("textbox", { name: "Rules as YAML" })).toHaveAttribute("readonly");
    expect(screen.queryByRole("button", { name: "Save rules" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Delete rule/ })).not.toBeInTheDocument();
  });
});

describe("Results", () => {
  it("shows the latest verdict, its checks and the trend", async () => {
    serve(fetchSpy, { "GET /api/v1/auth/me": me("viewer"), [`GET ${D}/quality`]: QUALITY });
    renderWith(<QualityPanel dataset="orders" />, { who: me("viewer") });
    expect(await screen.findByText("Latest verdict")).toBeInTheDocument();
    expect(screen.getAllByText("warned").length).toBeGreaterThan(0);
    expect(screen.getByRole("img", { name: /Quarantined rows per evaluation/ })).toHaveAccessibleName(
      expect.stringContaining("run_2026 r1 (warned): 3"),
    );
    const checks = screen.getByRole("region", { name: "Checks of the latest evaluation" });
    expect(within(checks).getByText("-5, 12000")).toBeInTheDocument();
  });

  it("says so when nothing was evaluated yet", async () => {
    serve(fetchSpy, {
      "GET /api/v1/auth/me": me("viewer"),
      [`GET ${D}/quality`]: { dataset: "orders", latest: null, trend: [], reconciliation: [] },
    });
    renderWith(<QualityPanel dataset="orders" />, { who: me("viewer") });
    expect(await screen.findByText(/No evaluations yet/)).toBeInTheDocument();
  });
});

describe("Quarantine", () => {
  const routes = (role: "viewer" | "operator") => ({
    "GET /api/v1/auth/me": me(role),
    [`GET ${D}/rules`]: RULES,
    [`GET ${D}/quality`]: QUALITY,
    [`GET ${D}/quarantine`]: QUARANTINE,
    [`POST ${D}/quarantine/release`]: new Response(JSON.stringify(job("release", "queued")), { status: 202 }),
    [`POST ${D}/quality/replay`]: new Response(JSON.stringify(job("replay", "queued")), { status: 202 }),
    "GET /api/v1/jobs/job-release-1": job("release", "succeeded", {
      released_rows: 2,
      released_entries: 2,
      not_released: 0,
      runs: [{ run_id: RUN_A, revision: 2, verdict: "passed", quarantined: 0, valid: 1000 }],
    }),
    "GET /api/v1/jobs/job-replay-1": job("replay", "succeeded", {
      runs: [{ run_id: RUN_B, revision: 2, verdict: "passed", quarantined: 0, valid: 1000 }],
    }),
  });

  it("releases the selected rows with their run, rule and lines, then follows the job", async () => {
    const calls = serve(fetchSpy, routes("operator"));
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("operator"), route: "/?quality=quarantine" });
    const table = await screen.findByRole("region", { name: "Quarantined rows of orders" });
    expect(within(table).getByText("amount 12000 is outside [0, 10000]")).toBeInTheDocument();
    const release = screen.getByRole("button", { name: "Release" });
    expect(release).toBeDisabled(); // nothing chosen yet
    await user.click(screen.getByRole("checkbox", { name: `Select line 4 of run ${RUN_A} (range_amount)` }));
    await user.click(screen.getByRole("checkbox", { name: `Select line 9 of run ${RUN_A} (range_amount)` }));
    await user.type(screen.getByRole("textbox", { name: /Reason/ }), "refunds are negative");
    await user.click(release);
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toHaveLength(1));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      run_id: RUN_A,
      rule: "range_amount",
      lines: [4, 9],
      all: false,
      reason: "refunds are negative",
    });
    expect(await screen.findByText(/2 row\(s\) left quarantine/)).toBeInTheDocument();
    // The quarantine is read again after the release.
    await waitFor(() => expect(calls.filter((c) => c.path === `${D}/quarantine`).length).toBeGreaterThan(1));
  });

  it("releases all rows matching the filter, and replays", async () => {
    const calls = serve(fetchSpy, routes("operator"));
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("operator"), route: "/?quality=quarantine" });
    await screen.findByRole("region", { name: "Quarantined rows of orders" });
    await user.selectOptions(screen.getByRole("combobox", { name: "Rule" }), "range_amount");
    await waitFor(() => expect(calls.some((c) => c.query.get("rule") === "range_amount")).toBe(true));
    await user.click(await screen.findByRole("radio", { name: /All 3 matching this filter/ }));
    await user.click(screen.getByRole("button", { name: "Release" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST")?.body).toEqual({
        rule: "range_amount",
        all: false,
        reason: "released in the web UI by ada",
      }),
    );
    await user.click(screen.getByRole("button", { name: "Replay" }));
    await waitFor(() => expect(calls.find((c) => c.path === `${D}/quality/replay`)?.body).toEqual({ all: true }));
    expect(await screen.findByText(/1 batch\(es\) re-evaluated with the rules of now/)).toBeInTheDocument();
  });

  it("lets a viewer browse but not release or replay", async () => {
    serve(fetchSpy, routes("viewer"));
    renderWith(<QualityPanel dataset="orders" />, { who: me("viewer"), route: "/?quality=quarantine" });
    await screen.findByRole("region", { name: "Quarantined rows of orders" });
    expect(screen.queryByRole("button", { name: "Release" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Replay" })).not.toBeInTheDocument();
  });
});

describe("AI suggestions", () => {
  const SUGGESTIONS = {
    dataset: "orders",
    columns: [
      {
        name: "Email",
        silver_name: "email",
        offline: { semantic_type: "email", confidence: 0.97, pii: true, pii_kind: "email", reason: "97% look like e-mail" },
      },
    ],
    suggestions: [
      {
        id: 7,
        kind: "rule",
        target: "format_email",
        source: "offline",
        payload: { name: "format_email", type: "format", column: "email", format: "email" },
        reason: "97% of the values look like e-mail addresses",
        run_id: RUN_B,
        updated_at: "2026-03-02T10:00:00Z",
        status: "open",
      },
      {
        id: 8,
        kind: "cast",
        target: "order_date",
        source: "offline",
        payload: { column: "order_date", type: "date:%d/%m/%Y" },
        reason: "values read as dates in %d/%m/%Y",
        run_id: RUN_B,
        updated_at: "2026-03-02T10:00:00Z",
        status: "open",
      },
    ],
    llm: null,
  };
  const DRY_RUN = {
    rule: { name: "format_email", type: "format", column: "email", format: "email", action: "warn" },
    failed_rows: 12,
    total_rows: 1000,
    would_quarantine: 0,
    would_fail_batches: 0,
    batches: [{ run_id: RUN_B, status: "warned", failed_rows: 12, total_rows: 1000, detail: "12 row(s) fail", examples: ["bob@", "n/a"] }],
  };

  it("dry-runs a suggested rule, shows what it would do, then accepts it", async () => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("admin"),
      [`GET ${D}/suggestions`]: SUGGESTIONS,
      [`POST ${D}/suggestions/7/dry-run`]: DRY_RUN,
      [`POST ${D}/suggestions/7/accept`]: { id: 7, kind: "rule", accepted: { ...DRY_RUN.rule }, dry_run: { ...DRY_RUN, would_quarantine: 12 } },
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("admin"), route: "/?quality=suggestions" });
    const card = await screen.findByRole("article", { name: /Rule format on email/ });
    expect(within(card).getByText("97% of the values look like e-mail addresses")).toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "Dry run" }));
    const result = await within(card).findByRole("status", { name: "Dry run result" });
    expect(result).toHaveTextContent("12 of 1,000 rows would fail this rule (1.2 %)");
    expect(within(result).getByText("bob@, n/a")).toBeInTheDocument();
    expect(calls.find((c) => c.path.endsWith("/dry-run"))?.query.get("action")).toBe("warn");
    await user.click(within(card).getByRole("button", { name: "Accept" }));
    expect(await within(card).findByText(/Accepted: added to the rules/)).toBeInTheDocument();
    const accept = calls.find((c) => c.path === `${D}/suggestions/7/accept`);
    expect(accept?.method).toBe("POST");
    expect(accept?.query.get("action")).toBe("warn");
  });

  it("dismisses a suggestion, and shows a refused dry run's detail", async () => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("admin"),
      [`GET ${D}/suggestions`]: SUGGESTIONS,
      [`POST ${D}/suggestions/7/dry-run`]: problem(404, "dataset 'orders' has no Silver data to try the rule on yet", "Not found"),
      [`POST ${D}/suggestions/8/dismiss`]: { id: 8, dismissed: true },
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("admin"), route: "/?quality=suggestions" });
    const rule = await screen.findByRole("article", { name: /Rule format on email/ });
    await user.click(within(rule).getByRole("button", { name: "Dry run" }));
    expect(await within(rule).findByRole("alert")).toHaveTextContent("no Silver data to try the rule on yet");
    const cast = screen.getByRole("article", { name: /Read column order_date as date/ });
    expect(within(cast).queryByRole("button", { name: "Dry run" })).not.toBeInTheDocument();
    await user.click(within(cast).getByRole("button", { name: "Dismiss" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === `${D}/suggestions/8/dismiss`)).toBe(true));
  });

  it("shows proposed descriptions as text and accepts them into the catalog", async () => {
    const descriptions = {
      id: 9,
      kind: "descriptions",
      target: "descriptions",
      source: "offline",
      payload: { description: "Orders of the shop.", columns: { email: "Buyer's e-mail.", total: "Order total." } },
      reason: "written from each column's semantic type, PII and profile (no LLM)",
      run_id: RUN_B,
      updated_at: "2026-03-02T10:00:00Z",
      status: "open",
    };
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("admin"),
      [`GET ${D}/suggestions`]: { ...SUGGESTIONS, suggestions: [descriptions] },
      [`POST ${D}/suggestions/9/accept`]: { id: 9, kind: "descriptions", accepted: descriptions.payload },
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("admin"), route: "/?quality=suggestions" });
    const card = await screen.findByRole("article", { name: "Describe the dataset and 2 column(s) in the catalog" });
    const texts = within(card).getByLabelText("Proposed descriptions");
    expect(texts).toHaveTextContent("The datasetOrders of the shop.");
    expect(within(texts).getByText("Order total.")).toBeInTheDocument();
    expect(within(card).queryByRole("button", { name: "Dry run" })).not.toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "Accept" }));
    expect(await within(card).findByText(/the descriptions are in the catalog/)).toBeInTheDocument();
    const accept = calls.find((c) => c.path === `${D}/suggestions/9/accept`);
    expect(accept?.query.get("action")).toBeNull();
  });

  it("asks for an analysis and hides decisions from an operator", async () => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/auth/me": me("operator"),
      [`GET ${D}/suggestions`]: SUGGESTIONS,
      [`POST ${D}/analyze`]: new Response(JSON.stringify(job("analyze", "queued")), { status: 202 }),
      "GET /api/v1/jobs/job-analyze-1": job("analyze", "succeeded", { analysed: true, ...SUGGESTIONS }),
    });
    const user = userEvent.setup();
    renderWith(<QualityPanel dataset="orders" />, { who: me("operator"), route: "/?quality=suggestions" });
    const card = await screen.findByRole("article", { name: /Rule format on email/ });
    expect(within(card).getByRole("button", { name: "Dry run" })).toBeInTheDocument();
    expect(within(card).queryByRole("button", { name: "Accept" })).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Analyze" }));
    expect(await screen.findByText(/Analysed; 2 suggestion/)).toBeInTheDocument();
    expect(calls.find((c) => c.path === `${D}/analyze`)?.body).toEqual({ refresh: false });
  });
});
