import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import SourcePage from "./SourcePage";
import SourcesPage from "./SourcesPage";
import { type Call, fakeGateway, meAs, NOW, problem, renderPage } from "./testkit";

const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));

const SHOP = {
  name: "shop",
  kind: "postgresql",
  host: "db.internal",
  port: 5433,
  database: "shop",
  user: "reader",
  options: { sslmode: "require" },
  has_password: true,
  created_at: NOW,
  updated_at: NOW,
};

afterEach(() => fetchSpy.mockReset());

describe("SourcesPage", () => {
  it("posts the connection's fields and shows a failed test's detail, never the password", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/connections": { connections: [] },
      "POST /api/v1/connections": SHOP,
      "POST /api/v1/connections/shop/test": {
        ok: false,
        name: "shop",
        error: { kind: "auth_failed", detail: 'password authentication failed for user "reader"' },
      },
    });
    renderPage(<SourcesPage />, { me: meAs("admin"), path: "/sources", pattern: "/sources" });
    expect(await screen.findByText(/No connections yet/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "New connection" }));
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "shop");
    await user.selectOptions(screen.getByRole("combobox", { name: "Kind" }), "postgresql");
    await user.type(screen.getByRole("textbox", { name: "Host" }), "db.internal");
    await user.type(screen.getByRole("spinbutton", { name: "Port" }), "5433");
    await user.type(screen.getByRole("textbox", { name: "Database" }), "shop");
    await user.type(screen.getByRole("textbox", { name: "User" }), "reader");
    const password = screen.getByLabelText(/^Password/);
    expect(password).toHaveAttribute("type", "password");
    await user.type(password, "s3cret-pass!");
    await user.selectOptions(screen.getByRole("combobox", { name: "TLS (sslmode)" }), "require");
    await user.click(screen.getByRole("button", { name: "Save connection" }));

    await screen.findByText(/saved\./);
    const post = calls.find((c) => c.method === "POST" && c.path === "/api/v1/connections") as Call;
    expect(post.body).toEqual({
      name: "shop",
      kind: "postgresql",
      host: "db.internal",
      port: 5433,
      database: "shop",
      user: "reader",
      password: "s3cret-pass!",
      options: { sslmode: "require" },
    });

    await user.click(screen.getByRole("button", { name: "Test connection" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("auth failed");
    expect(alert).toHaveTextContent('password authentication failed for user "reader"');
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/connections/shop/test")).toBe(true);
    // The form is gone and the password with it: nothing on the page shows it.
    expect(document.body.innerHTML).not.toContain("s3cret-pass!");
  });

  it("shows a refusal's detail and a successful test's latency", async () => {
    const user = userEvent.setup();
    fakeGateway(fetchSpy, {
      "GET /api/v1/connections": { connections: [SHOP] },
      "POST /api/v1/connections": problem(409, "a connection named 'shop' exists; PUT /api/v1/connections/shop replaces it"),
      "POST /api/v1/connections/shop/test": {
        ok: true,
        name: "shop",
        server_version: "PostgreSQL 16.4",
        connect_ms: 12.4,
        round_trip_ms: 0.8,
      },
    });
    renderPage(<SourcesPage />, { me: meAs("admin"), path: "/sources", pattern: "/sources" });
    const table = await screen.findByRole("region", { name: "Connections" });
    expect(within(table).getByRole("link", { name: "shop" })).toHaveAttribute("href", "/sources/shop");
    expect(within(table).getByText("stored")).toBeInTheDocument();

    await user.click(within(table).getByRole("button", { name: "Test shop" }));
    const status = await screen.findByText(/PostgreSQL 16.4/);
    expect(status).toHaveTextContent("connect 12 ms");
    expect(status).toHaveTextContent("round trip 0.8 ms");

    await user.click(screen.getByRole("button", { name: "New connection" }));
    await user.type(screen.getByRole("textbox", { name: /^Name/ }), "shop");
    await user.type(screen.getByRole("textbox", { name: "Host" }), "db");
    await user.click(screen.getByRole("button", { name: "Save connection" }));
    expect(await screen.findByText(/a connection named 'shop' exists/)).toBeInTheDocument();
  });

  it("lets an operator list and test but not add; a viewer asks nothing", async () => {
    fakeGateway(fetchSpy, { "GET /api/v1/connections": { connections: [SHOP] } });
    const { unmount } = renderPage(<SourcesPage />, { me: meAs("operator"), path: "/sources", pattern: "/sources" });
    expect(await screen.findByRole("link", { name: "shop" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New connection" })).not.toBeInTheDocument();
    unmount();
    fetchSpy.mockClear();

    renderPage(<SourcesPage />, { me: meAs("viewer"), path: "/sources", pattern: "/sources" });
    expect(screen.getByText(/for operators and admins/)).toBeInTheDocument();
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("SourcePage", () => {
  it("browses tables, previews one, saves an extraction and links to the run it starts", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/connections/shop": SHOP,
      "GET /api/v1/connections/shop/tables": {
        connection: "shop",
        tables: [
          {
            schema: "sales",
            name: "orders",
            type: "table",
            row_estimate: 1200,
            primary_key: ["id"],
            columns: [
              { name: "id", type: "integer", nullable: false },
              { name: "updated_at", type: "timestamp with time zone", nullable: false },
            ],
          },
          { schema: "sales", name: "customers", type: "view", row_estimate: null, primary_key: [], columns: [] },
        ],
      },
      "GET /api/v1/connections/shop/preview": {
        connection: "shop",
        table: "sales.orders",
        columns: [
          { name: "id", type: "integer" },
          { name: "updated_at", type: "timestamptz" },
        ],
        rows: [
          [1, "2026-03-01T09:00:00Z"],
          [2, null],
        ],
      },
      "PUT /api/v1/datasets/orders/source": (call: Call) => ({
        dataset: "orders",
        connection: "shop",
        table: "sales.orders",
        query: null,
        mode: "incremental",
        cursor: "updated_at",
        key: (call.body as { key: string[] }).key,
        lookback: 300,
        initial: null,
        watermark: null,
        watermark_run: null,
        updated_at: NOW,
      }),
      "POST /api/v1/datasets/orders/extract": { run_id: "ext-orders-1", dataset: "orders", window: "(-∞, 2026-03-02]" },
    });
    renderPage(<SourcePage />, { me: meAs("admin"), path: "/sources/shop", pattern: "/sources/:name" });
    expect(await screen.findByText("stored (never shown)")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Browse tables" }));
    const tables = await screen.findByRole("region", { name: "Tables and views" });
    await user.type(screen.getByRole("searchbox", { name: "Filter tables" }), "updated");
    await waitFor(() => expect(within(tables).queryByText("sales.customers")).not.toBeInTheDocument());

    await user.click(within(tables).getByRole("button", { name: "Preview sales.orders" }));
    const preview = await screen.findByRole("region", { name: "First rows of sales.orders" });
    expect(within(preview).getByText("NULL")).toBeInTheDocument();
    const previewCall = calls.find((c) => c.path.endsWith("/preview")) as Call;
    expect(previewCall.query.get("table")).toBe("sales.orders");

    await user.click(within(tables).getByRole("button", { name: "Use sales.orders for an extraction" }));
    expect(screen.getByRole("textbox", { name: "Dataset" })).toHaveValue("orders");
    await user.click(screen.getByRole("radio", { name: /incremental/ }));
    await user.type(screen.getByRole("combobox", { name: "Cursor column" }), "updated_at");
    const lookback = screen.getByRole("spinbutton", { name: /Lookback/ });
    await user.clear(lookback);
    await user.type(lookback, "300");
    await user.click(screen.getByRole("button", { name: "Save the source" }));
    await screen.findByText(/Watermark:/);
    const put = calls.find((c) => c.method === "PUT") as Call;
    expect(put.body).toEqual({
      connection: "shop",
      table: "sales.orders",
      mode: "incremental",
      cursor: "updated_at",
      key: ["id"],
      lookback: 300,
    });

    await user.click(screen.getByRole("button", { name: "Extract now" }));
    expect(await screen.findByRole("link", { name: "Open the run" })).toHaveAttribute("href", "/runs/ext-orders-1");
  });

  it("deletes a connection only after confirming", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/connections/shop": SHOP,
      "DELETE /api/v1/connections/shop": () => new Response(null, { status: 204 }),
    });
    renderPage(<SourcePage />, { me: meAs("admin"), path: "/sources/shop", pattern: "/sources/:name" });
    await user.click(await screen.findByRole("button", { name: "Delete connection" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(screen.getByRole("button", { name: "Yes, delete shop" }));
    expect(await screen.findByText("elsewhere")).toBeInTheDocument();
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/connections/shop")).toBe(true);
  });
});
