import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { me, problem, renderWith, serve } from "../quality/testing";
import { page, REVENUE, TOP } from "./fixtures";
import ModelsPage from "./ModelsPage";

// The api client keeps the fetch it saw when created: spy before it is imported.
const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
// CodeMirror needs layout jsdom lacks; its plain stand-in is the same control (SqlEditor.test).
vi.mock("./SqlCodeMirror", async () => ({ default: (await import("./SqlEditor")).PlainSqlEditor }));

beforeEach(() => fetchSpy.mockReset());

describe("ModelsPage", () => {
  it("lists the Gold models with their materialization, last build, rows and version", async () => {
    serve(fetchSpy, { "GET /api/v1/models": page([REVENUE, TOP]) });
    renderWith(<ModelsPage />, { who: me("viewer") });
    const table = await screen.findByRole("region", { name: "Gold models" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    const revenue = rows[1];
    expect(within(revenue).getByRole("link", { name: "daily_revenue" })).toHaveAttribute("href", "/models/daily_revenue");
    expect(within(revenue).getByText("table")).toBeInTheDocument();
    expect(within(revenue).getByText("succeeded")).toBeInTheDocument();
    expect(within(revenue).getByText("31")).toBeInTheDocument();
    expect(within(revenue).getByText("4")).toBeInTheDocument();
    // A failure newer than the last good build is the last build's outcome.
    expect(within(rows[2]).getByText("failed")).toBeInTheDocument();
    expect(within(rows[2]).getByText("incremental")).toBeInTheDocument();
    // Defining models is for admins.
    expect(screen.queryByRole("button", { name: "New model" })).not.toBeInTheDocument();
  });

  it("says there are no models yet, and offers an admin to create one", async () => {
    serve(fetchSpy, { "GET /api/v1/models": page([]) });
    renderWith(<ModelsPage />, { who: me("admin") });
    expect(await screen.findByText(/No Gold models yet/)).toHaveTextContent("Create one with New model");
    expect(screen.getByRole("button", { name: "New model" })).toBeInTheDocument();
  });

  it("shows the API's error when the list cannot be read", async () => {
    serve(fetchSpy, { "GET /api/v1/models": problem(503, "transform did not answer in 10 s", "Service unavailable") });
    renderWith(<ModelsPage />, { who: me("viewer") });
    expect(await screen.findByRole("alert")).toHaveTextContent("transform did not answer in 10 s");
  });

  it("posts a new model and shows why it was refused", async () => {
    const calls = serve(fetchSpy, {
      "GET /api/v1/models": page([REVENUE]),
      "POST /api/v1/models": problem(400, "the model's SQL does not run: Catalog Error: Table with name orderz does not exist"),
    });
    const user = userEvent.setup();
    renderWith(<ModelsPage />, { who: me("admin") });
    await user.click(await screen.findByRole("button", { name: "New model" }));
    await user.type(screen.getByRole("textbox", { name: "Name" }), "weekly_orders");
    await user.selectOptions(screen.getByRole("combobox", { name: "Materialization" }), "incremental");
    await user.type(screen.getByRole("textbox", { name: "Unique key" }), "week");
    await user.click(screen.getByRole("button", { name: "Create model" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Table with name orderz does not exist");
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({
        name: "weekly_orders",
        materialized: "incremental",
        unique_key: "week",
        sql: "SELECT *\nFROM ",
      }),
    );
  });

  it("drafts a model from a question, shows its lineage and sample rows, and an admin saves it", async () => {
    const DRAFT = {
      status: "ready",
      reason: "",
      question: "monthly revenue by country for paid orders",
      name: "monthly_revenue",
      sql: "SELECT c.country, SUM(o.amount) AS revenue FROM orders o JOIN customers c USING (customer_id) GROUP BY ALL",
      explanation: "Paid revenue by country.",
      tables: ["customers", "orders"],
      columns_used: { customers: ["country", "customer_id"], orders: ["amount", "customer_id"] },
      lineage: { country: ["customers.country"], revenue: ["orders.amount"] },
      dry_run: { columns: [{ name: "country", type: "varchar" }, { name: "revenue", type: "double" }], rows: [["FR", 120.5]], sample_rows: 10000, seconds: 0.02 },
      source: "anthropic:claude-sonnet-4-5",
      cached: false,
      tokens: 900,
      attempts: [],
    };
    const calls = serve(fetchSpy, {
      "GET /api/v1/models": page([]),
      "POST /api/v1/models/draft": DRAFT,
      "POST /api/v1/models": { ...REVENUE, name: "monthly_revenue", sql: DRAFT.sql },
    });
    const user = userEvent.setup();
    renderWith(<ModelsPage />, { who: me("admin") });
    await user.click(await screen.findByRole("button", { name: "Draft from a question" }));
    await user.type(screen.getByRole("textbox", { name: "Question" }), DRAFT.question);
    await user.type(screen.getByRole("textbox", { name: "Datasets and models it may read" }), "orders, customers");
    await user.click(screen.getByRole("button", { name: "Draft model" }));
    const found = await screen.findByRole("region", { name: "Draft" });
    expect(within(found).getByText("ready")).toBeInTheDocument();
    expect(within(found).getByRole("list", { name: "Result columns from" })).toHaveTextContent("revenue ← orders.amount");
    expect(within(found).getByRole("region", { name: "Draft on a sample" })).toHaveTextContent("120.5");
    const asked = calls.find((c) => c.method === "POST" && c.path === "/api/v1/models/draft");
    expect(asked?.body).toMatchObject({ question: DRAFT.question, datasets: ["orders", "customers"] });
    // Nothing is saved until the admin reviews it in the model form and creates it.
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/models")).toBe(false);
    await user.click(within(found).getByRole("button", { name: "Review and save" }));
    expect(screen.getByRole("textbox", { name: "Name" })).toHaveValue("monthly_revenue");
    await user.click(screen.getByRole("button", { name: "Create model" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/models")?.body).toMatchObject({
        name: "monthly_revenue",
        sql: DRAFT.sql,
      }),
    );
  });

  it("shows why a draft was refused, and offers nothing to save", async () => {
    serve(fetchSpy, {
      "GET /api/v1/models": page([]),
      "POST /api/v1/models/draft": {
        status: "refused", reason: "the LLM's draft cannot be used: the SQL names an unknown column: Column 'region' could not be resolved",
        question: "revenue by region", name: "revenue_by_region", sql: "SELECT region FROM orders", explanation: "",
        tables: [], columns_used: {}, lineage: {}, dry_run: null, source: "openai:gpt-4.1", cached: false, tokens: 0, attempts: [],
      },
    });
    const user = userEvent.setup();
    renderWith(<ModelsPage />, { who: me("operator") });
    await user.click(await screen.findByRole("button", { name: "Draft from a question" }));
    await user.type(screen.getByRole("textbox", { name: "Question" }), "revenue by region");
    await user.click(screen.getByRole("button", { name: "Draft model" }));
    const found = await screen.findByRole("region", { name: "Draft" });
    expect(found).toHaveTextContent("Column 'region' could not be resolved");
    expect(within(found).getByLabelText("Draft SQL")).toHaveTextContent("SELECT region FROM orders");
    expect(within(found).queryByRole("button", { name: "Review and save" })).not.toBeInTheDocument();
  });
});
