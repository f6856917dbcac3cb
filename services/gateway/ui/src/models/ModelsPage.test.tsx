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
});
