import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useLocation } from "react-router";
import { json, mockApi, renderAt } from "../test/render";
import { describeColumns, reading, schemaDiff, type SchemaVersion, versionHistory } from "./api";
import DatasetPage from "./DatasetPage";
import DatasetsPage from "./DatasetsPage";
import {
  CUSTOMERS_PROFILE,
  CUSTOMERS_READINGS,
  CUSTOMERS_SCHEMA,
  dataset,
  run,
} from "./fixtures";

afterEach(() => vi.restoreAllMocks());

function Where() {
  const location = useLocation();
  return <output aria-label="Address">{location.pathname + location.search}</output>;
}

describe("DatasetsPage", () => {
  it("lists datasets with their rows, last run and quality verdict", async () => {
    mockApi({
      "GET /api/v1/datasets": {
        datasets: [
          dataset("customers"),
          dataset("orders", { last_run: run("orders", { status: "failed", verdict: null }), key: [] }),
          dataset("staged", { layers: {}, runs: 0, last_run: null }),
        ],
        next_cursor: null,
      },
    });
    renderAt(<DatasetsPage />, "/datasets");
    expect(await screen.findByRole("link", { name: "customers" })).toHaveAttribute("href", "/datasets/customers");
    const table = screen.getByRole("table");
    const customers = screen.getByRole("link", { name: "customers" }).closest("tr") as HTMLElement;
    expect(within(customers).getByText("5")).toBeInTheDocument(); // Silver rows
    expect(within(customers).getByText("6")).toBeInTheDocument(); // Bronze rows
    // The dataset's name names one link only (its page), so a search by link name finds one.
    expect(screen.getAllByRole("link", { name: /customers/ })).toHaveLength(1);
    expect(within(customers).getByRole("link", { name: "succeeded" })).toHaveAttribute(
      "href",
      "/runs/3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9",
    );
    expect(within(customers).getByText("pass")).toHaveClass("badge", "ok");
    expect(within(customers).getByText("5 min ago")).toBeInTheDocument();
    const orders = within(table).getByRole("link", { name: "orders" }).closest("tr") as HTMLElement;
    expect(within(orders).getByText("failed")).toHaveClass("badge", "bad");
    expect(within(table).getByRole("link", { name: "staged" })).toBeInTheDocument();
    expect(screen.getByText("3 datasets")).toBeInTheDocument();
  });

  it("filters by name as you type, keeps the search in the address and looks through every page", async () => {
    const { calls } = mockApi({
      "GET /api/v1/datasets": (request: Request) =>
        new URL(request.url).searchParams.get("cursor") === "orders"
          ? { datasets: [dataset("zebra_sightings")], next_cursor: null }
          : { datasets: [dataset("customers"), dataset("orders")], next_cursor: "orders" },
    });
    renderAt(
      <>
        <DatasetsPage />
        <Where />
      </>,
      "/datasets",
    );
    await screen.findByRole("link", { name: "orders" });
    const search = screen.getByRole("searchbox", { name: "Search datasets" });
    await userEvent.type(search, "cust");
    expect(screen.queryByRole("link", { name: "orders" })).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "customers" })).toBeInTheDocument();
    expect(screen.getByLabelText("Address")).toHaveTextContent("/datasets?q=cust");
    // A name on the second page is found too: the search fetched it.
    await userEvent.clear(search);
    await userEvent.type(search, "zeb");
    expect(await screen.findByRole("link", { name: "zebra_sightings" })).toBeInTheDocument();
    expect(calls.some((c) => new URL(c.url).searchParams.get("cursor") === "orders")).toBe(true);
    await userEvent.type(search, "zzz");
    expect(screen.getByText(/No dataset name contains “zebzzz”/)).toBeInTheDocument();
  });

  it("shows the empty state when there is no dataset", async () => {
    mockApi({ "GET /api/v1/datasets": { datasets: [], next_cursor: null } });
    renderAt(<DatasetsPage />, "/datasets");
    expect(await screen.findByText(/No dataset yet/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Upload a file" })).toHaveAttribute("href", "/upload");
  });

  it("shows the API's problem detail when the list fails", async () => {
    mockApi({
      "GET /api/v1/datasets": json({ title: "Service Unavailable", detail: "the catalog did not answer in 10 s" }, 503),
    });
    renderAt(<DatasetsPage />, "/datasets");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("the catalog did not answer in 10 s");
    expect(alert).toHaveTextContent("HTTP 503");
  });

  it("stays light with 1,000 datasets: only the rows in view are in the page", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => dataset(`ds_${String(i).padStart(4, "0")}`));
    mockApi({ "GET /api/v1/datasets": { datasets: many, next_cursor: null } });
    renderAt(<DatasetsPage />, "/datasets");
    expect(await screen.findByRole("link", { name: "ds_0000" })).toBeInTheDocument();
    expect(screen.getByText("1,000 datasets")).toBeInTheDocument();
    expect(screen.getAllByRole("row").length).toBeLessThan(80);
    expect(screen.getByRole("table")).toHaveAttribute("aria-rowcount", "1001");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search datasets" }), "0999");
    expect(await screen.findByRole("link", { name: "ds_0999" })).toBeInTheDocument();
    expect(screen.getByText(/1 of 1,000 datasets match/)).toBeInTheDocument();
  });
});

function mockCustomers(extra: Record<string, unknown> = {}) {
  return mockApi({
    "GET /api/v1/datasets/customers": dataset("customers"),
    "GET /api/v1/datasets/customers/schema": CUSTOMERS_SCHEMA,
    "GET /api/v1/datasets/customers/suggestions": CUSTOMERS_READINGS,
    "GET /api/v1/datasets/customers/profile": CUSTOMERS_PROFILE,
    ...extra,
  });
}

describe("DatasetPage", () => {
  it("shows the header: rows, last run and links to the runs", async () => {
    mockCustomers();
    renderAt(<DatasetPage />, "/datasets/customers", "/datasets/:name");
    expect(await screen.findByRole("heading", { name: "customers", level: 1 })).toBeInTheDocument();
    expect(screen.getByText(/5 valid rows in 4 columns/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "all 3 runs" })).toHaveAttribute("href", "/runs?dataset=customers");
    expect(screen.getByRole("link", { name: /customers\.csv, 6 min ago/ })).toHaveAttribute(
      "href",
      "/runs/3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9",
    );
  });

  it("shows columns with their types, semantic types, PII badges, nullability and descriptions", async () => {
    mockCustomers();
    renderAt(<DatasetPage />, "/datasets/customers", "/datasets/:name");
    expect(await screen.findByRole("tab", { name: "Schema" })).toHaveAttribute("aria-selected", "true");
    const table = await screen.findByRole("table", { name: "Columns" });
    const row = (name: string) => within(table).getByText(name, { selector: "td.mono" }).closest("tr") as HTMLElement;
    const email = row("email");
    await waitFor(() => expect(within(email).getByText("PII: email")).toHaveClass("badge", "pii"));
    expect(within(email).getByText("string")).toBeInTheDocument();
    // The AI's description, not accepted yet, is marked as a suggestion; the catalog's is plain.
    expect(within(email).getByText("The customer's contact e-mail address. (suggested)")).toHaveClass("muted");
    expect(within(row("id")).getByText("The customer's number, one row each.")).not.toHaveClass("muted");
    expect(screen.getByLabelText("Dataset description")).toHaveTextContent("Customers of the web shop");
    expect(within(row("id")).getByText("identifier")).toBeInTheDocument();
    expect(within(row("id")).getByText("integer")).toBeInTheDocument();
    expect(within(row("id")).getByText("key")).toBeInTheDocument();
    expect(within(row("id")).queryByText(/PII/)).not.toBeInTheDocument();
    await waitFor(() => expect(within(row("amount")).getByText("yes (16.7% null)")).toBeInTheDocument());
    expect(within(row("amount")).getByText("double")).toBeInTheDocument();
    // The detector was unsure: said so, with the type it may be instead.
    expect(within(row("amount")).getByText("(uncertain; maybe currency_amount)")).toHaveClass("muted");
    expect(within(row("id")).queryByText(/uncertain/)).not.toBeInTheDocument();
    expect(within(row("tier")).getAllByText("–").length).toBeGreaterThan(0); // no reading for it
  });

  it("keeps the chosen tab in the address, and shows the versions' differences", async () => {
    mockCustomers();
    renderAt(
      <>
        <DatasetPage />
        <Where />
      </>,
      "/datasets/customers?tab=versions",
      "/datasets/:name",
    );
    expect(await screen.findByRole("tab", { name: "Versions" })).toHaveAttribute("aria-selected", "true");
    const v2 = await screen.findByRole("listitem", { name: "Version 2" });
    expect(v2).toHaveTextContent("Version 2 (current)");
    expect(v2).toHaveTextContent("renamed e_mail → email");
    expect(v2).toHaveTextContent("retyped amount: integer → double");
    expect(v2).toHaveTextContent("added tier (string)");
    expect(v2).toHaveTextContent("removed region (string)");
    expect(screen.getByRole("listitem", { name: "Version 1" })).toHaveTextContent("First version, 4 columns");
    await userEvent.click(screen.getByRole("tab", { name: "Profile" }));
    expect(screen.getByLabelText("Address")).toHaveTextContent("/datasets/customers?tab=profile");
    const amount = await screen.findByRole("region", { name: "Profile of Amount" });
    expect(amount).toHaveTextContent("16.7% (1 of 6)");
    expect(within(amount).getByRole("img", { name: /Most frequent values of Amount\. 7: 2/ })).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Profile of E-mail" })).toHaveTextContent("PII, values masked");
  });

  it("marks the figures of a profile made from a sample as estimates", async () => {
    const sampled = {
      name: "Amount", rows: 5_000_000, rows_profiled: 200_000, nulls: 250_000, null_pct: 5, nulls_exact: false,
      distinct: 120_000, distinct_exact: false, top_values: [["7", 20]],
    };
    mockCustomers({
      "GET /api/v1/datasets/customers/profile": json({ ...CUSTOMERS_PROFILE, columns: [sampled] }),
    });
    renderAt(<DatasetPage />, "/datasets/customers?tab=profile", "/datasets/:name");
    const amount = await screen.findByRole("region", { name: "Profile of Amount" });
    expect(amount).toHaveTextContent("about 5.0% (250,000 of 5,000,000, estimate)");
    expect(amount).toHaveTextContent("120,000 (estimate)");
    expect(amount).toHaveTextContent("Profiled from a sample of 200,000 of 5,000,000 rows");
  });

  it("shows a part that does not exist yet as an empty state with the API's words", async () => {
    mockCustomers({
      "GET /api/v1/datasets/customers/profile": json(
        { title: "Not Found", detail: "dataset 'customers' has no profiled batch yet" },
        404,
      ),
    });
    renderAt(<DatasetPage />, "/datasets/customers?tab=profile", "/datasets/:name");
    expect(await screen.findByText(/dataset 'customers' has no profiled batch yet/)).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("shows the sample as the API masks it, the contract and an empty Silver spec", async () => {
    mockCustomers({
      "GET /api/v1/datasets/customers/sample": {
        dataset: "customers",
        layer: "silver",
        masked: true,
        rows: [
          { id: 1, email: "aaa@aaaaaaa.aaa", amount: 10.5, tier: "gold" },
          { id: 2, email: "aaa@aaaaaaa.aaa", amount: null, tier: "silver" },
        ],
      },
      "GET /api/v1/datasets/customers/contract": { schema_policy: "freeze", array_policy: "json" },
      "GET /api/v1/datasets/customers/spec": { renames: {}, types: {} },
    });
    renderAt(<DatasetPage />, "/datasets/customers?tab=sample", "/datasets/:name");
    const sample = await screen.findByRole("region", { name: "Sample rows" });
    expect(within(sample).getAllByText("aaa@aaaaaaa.aaa")).toHaveLength(2);
    expect(within(sample).getByText("∅")).toBeInTheDocument();
    expect(screen.getByText(/PII values are shown as their shape/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("tab", { name: "Contract" }));
    expect(await screen.findByText(/a file whose columns differ is refused/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("tab", { name: "Silver spec" }));
    expect(await screen.findByText(/No Silver spec/)).toBeInTheDocument();
  });

  it("does not ask for the schema of a layer with no data", async () => {
    const { calls } = mockApi({
      "GET /api/v1/datasets/staged": dataset("staged", { layers: {}, runs: 0, last_run: null }),
    });
    renderAt(<DatasetPage />, "/datasets/staged", "/datasets/:name");
    expect(await screen.findByText(/No Silver data yet/)).toBeInTheDocument();
    expect(screen.getByText(/nothing has landed in this dataset yet/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("tab", { name: "Lineage" }));
    expect(screen.getByText(/No lineage yet/)).toBeInTheDocument();
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual(["/api/v1/datasets/staged"]);
  });

  it("shows the API's problem when the dataset is unknown", async () => {
    mockApi({
      "GET /api/v1/datasets/nope": json(
        { title: "Not Found", detail: "no dataset named 'nope'; list them at GET /api/v1/datasets" },
        404,
      ),
    });
    renderAt(<DatasetPage />, "/datasets/nope", "/datasets/:name");
    expect(await screen.findByRole("alert")).toHaveTextContent("no dataset named 'nope'");
  });
});

describe("schema helpers", () => {
  it("names added, removed and retyped columns", () => {
    const diff = schemaDiff(
      [{ name: "a", type: "integer" }, { name: "b", type: "string" }],
      [{ name: "a", type: "bigint" }, { name: "c", type: "date" }],
    );
    expect(diff.added).toEqual([{ name: "c", type: "date" }]);
    expect(diff.removed).toEqual([{ name: "b", type: "string" }]);
    expect(diff.retyped).toEqual([{ name: "a", from: "integer", to: "bigint" }]);
  });

  it("lists versions newest first, from the catalog's record of changes or by comparing columns", () => {
    const versions = CUSTOMERS_SCHEMA.versions as unknown as SchemaVersion[];
    const history = versionHistory([
      ...versions,
      { version: 3, columns: [{ name: "id", type: "integer" }, { name: "email", type: "string" }] },
    ]);
    expect(history.map((h) => h.version.version)).toEqual([3, 2, 1]);
    expect(history[0].change?.removed.map((c) => c.name)).toEqual(["amount", "tier"]);
    expect(history[1].change).toEqual({
      added: [{ name: "tier", type: "string" }],
      removed: [{ name: "region", type: "string" }],
      renamed: [{ from: "e_mail", to: "email" }],
      retyped: [{ name: "amount", from: "integer", to: "double" }],
    });
    expect(history[2].change).toBeNull();
  });

  it("reads PII from either reader and joins readings and profile to Silver's columns", () => {
    expect(reading({ name: "x", offline: { pii: false }, llm: { pii: true, semantic_type: "name" } })).toMatchObject({
      pii: true,
      semantic_type: "name",
    });
    const rows = describeColumns(CUSTOMERS_SCHEMA.columns, CUSTOMERS_READINGS.columns, CUSTOMERS_PROFILE.columns as never, ["id"]);
    expect(rows.map((r) => [r.name, r.reading?.semantic_type ?? null, r.nullable])).toEqual([
      ["id", "identifier", "no"],
      ["email", "email", "no"],
      ["amount", "decimal", "yes"],
      ["tier", null, "unknown"],
    ]);
  });
});
