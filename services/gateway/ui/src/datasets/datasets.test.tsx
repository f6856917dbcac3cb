import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { json, mockApi, renderAt } from "../test/render";
import { schemaDiff } from "./api";
import DatasetPage from "./DatasetPage";
import DatasetsPage from "./DatasetsPage";

const NOW = new Date().toISOString();
const layer = (rows: number) => ({ layer: "silver", location: "silver/x/", version: 1, row_count: rows, columns: 3, updated_at: NOW });
const dataset = (name: string) => ({ name, key: ["id"], layers: { silver: layer(10), bronze: layer(12) }, runs: 2, last_run: null });

afterEach(() => vi.restoreAllMocks());

describe("DatasetsPage", () => {
  it("lists datasets and filters them by name", async () => {
    mockApi({ "GET /api/v1/datasets": { datasets: [dataset("orders"), dataset("customers")], next_cursor: null } });
    renderAt(<DatasetsPage />, "/datasets");
    expect(await screen.findByRole("link", { name: "orders" })).toHaveAttribute("href", "/datasets/orders");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search datasets" }), "cust");
    expect(screen.queryByRole("link", { name: "orders" })).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "customers" })).toBeInTheDocument();
    await userEvent.type(screen.getByRole("searchbox", { name: "Search datasets" }), "zzz");
    expect(screen.getByText(/No dataset name contains/)).toBeInTheDocument();
  });

  it("shows the API's problem and the empty state", async () => {
    mockApi({ "GET /api/v1/datasets": json({ title: "Service Unavailable", detail: "ingest did not answer" }, 503) });
    renderAt(<DatasetsPage />, "/datasets");
    expect(await screen.findByRole("alert")).toHaveTextContent("ingest did not answer");
  });
});

describe("DatasetPage", () => {
  it("shows columns with their types, semantic types and PII badges", async () => {
    mockApi({
      "GET /api/v1/datasets/customers": dataset("customers"),
      "GET /api/v1/datasets/customers/schema": {
        dataset: "customers", layer: "silver", version: 2, fingerprint: "abc",
        columns: [{ name: "id", type: "integer" }, { name: "email", type: "string" }],
        versions: [],
      },
      "GET /api/v1/datasets/customers/suggestions": {
        dataset: "customers",
        columns: [
          { name: "id", silver_name: "id", offline: { semantic_type: "identifier", pii: false } },
          { name: "E-mail", silver_name: "email", offline: { semantic_type: "email", pii: true, pii_kind: "email" } },
        ],
      },
    });
    renderAt(<DatasetPage />, "/datasets/customers", "/datasets/:name");
    const table = await screen.findByRole("table", { name: "Columns" });
    const email = (await within(table).findByText("email", { selector: "td.mono" })).closest("tr") as HTMLElement;
    expect(within(email).getByText("PII: email")).toBeInTheDocument();
    expect(within(email).getAllByText("email").length).toBeGreaterThan(1);
    expect(within(table).getByText("identifier")).toBeInTheDocument();
  });
});

describe("schemaDiff", () => {
  it("names added, removed and retyped columns", () => {
    const diff = schemaDiff(
      [{ name: "a", type: "integer" }, { name: "b", type: "string" }],
      [{ name: "a", type: "bigint" }, { name: "c", type: "date" }],
    );
    expect(diff.added).toEqual([{ name: "c", type: "date" }]);
    expect(diff.removed).toEqual([{ name: "b", type: "string" }]);
    expect(diff.retyped).toEqual([{ name: "a", from: "integer", to: "bigint" }]);
  });
});
