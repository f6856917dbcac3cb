import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type Call, fakeGateway, meAs, NOW, problem, renderPage } from "../sources/testkit";
import AdminPage from "./AdminPage";

const fetchSpy = vi.hoisted(() => vi.spyOn(globalThis, "fetch"));
const SECRET = "ffk_4f2a9c1e.q8ZyN3lS0m2Vx7pKcE1rT5uWbH6dJ9aG";

const KEY = {
  id: "4f2a9c1e",
  name: "nightly loader",
  role: "operator",
  created_by: "user:ada",
  created_at: NOW,
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
};

afterEach(() => fetchSpy.mockReset());

describe("AdminPage", () => {
  it("shows a new API key once, with a copy button, and never again", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    let keys: (typeof KEY)[] = [];
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/users": { users: [] },
      "GET /api/v1/keys": () => ({ keys }),
      "POST /api/v1/keys": () => {
        keys = [KEY];
        return { ...KEY, key: SECRET };
      },
    });
    renderPage(<AdminPage />, { me: meAs("admin"), path: "/admin?tab=keys", pattern: "/admin" });
    expect(await screen.findByText("No API keys yet.")).toBeInTheDocument();

    await user.type(screen.getByRole("textbox", { name: "What it is for" }), "nightly loader");
    await user.selectOptions(screen.getByRole("combobox", { name: "Role" }), "operator");
    await user.click(screen.getByRole("button", { name: "Create key" }));

    const shown = await screen.findByRole("region", { name: "New API key" });
    expect(shown).toHaveTextContent("you will not see it again");
    expect(within(shown).getByRole("textbox", { name: "Key" })).toHaveValue(SECRET);
    const post = calls.find((c) => c.method === "POST") as Call;
    expect(post.body).toEqual({ name: "nightly loader", role: "operator" });

    await user.click(within(shown).getByRole("button", { name: "Copy key" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(await within(shown).findByText("Copied to the clipboard.")).toBeInTheDocument();

    // The list has the key's id, not the key.
    const list = await screen.findByRole("region", { name: "API keys" });
    await within(list).findByText("nightly loader");
    expect(list.textContent).not.toContain(SECRET);

    await user.click(within(shown).getByRole("button", { name: "I have stored it" }));
    expect(screen.queryByRole("region", { name: "New API key" })).not.toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("creates a user, changes a role and shows the API's refusal", async () => {
    const user = userEvent.setup();
    const users = [
      { name: "ada", role: "admin", disabled: false, created_at: NOW, updated_at: NOW, last_login_at: NOW, locked_until: null },
    ];
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/users": () => ({ users }),
      "POST /api/v1/users": (call: Call) => {
        const body = call.body as { name: string; role: string };
        users.push({ ...users[0], name: body.name, role: body.role, last_login_at: null as unknown as string });
        return users[users.length - 1];
      },
      "PATCH /api/v1/users/ada": problem(409, "'ada' is the last admin; make another admin first"),
    });
    renderPage(<AdminPage />, { me: meAs("admin"), path: "/admin", pattern: "/admin" });
    expect(await screen.findByRole("tab", { name: "Users", selected: true })).toBeInTheDocument();
    await screen.findByRole("region", { name: "Users" });

    await user.type(screen.getByRole("textbox", { name: "User name" }), "bob");
    await user.type(screen.getByLabelText(/^Password/), "correct horse battery");
    await user.selectOptions(screen.getByRole("combobox", { name: "Role" }), "analyst");
    await user.click(screen.getByRole("button", { name: "Create user" }));
    expect(await screen.findByRole("combobox", { name: "Role of bob" })).toHaveValue("analyst");
    expect((calls.find((c) => c.method === "POST") as Call).body).toEqual({
      name: "bob",
      password: "correct horse battery",
      role: "analyst",
    });
    expect(document.body.innerHTML).not.toContain("correct horse battery");

    await user.selectOptions(screen.getByRole("combobox", { name: "Role of ada" }), "viewer");
    expect(await screen.findByText(/is the last admin/)).toBeInTheDocument();
    expect((calls.find((c) => c.method === "PATCH") as Call).body).toEqual({ role: "viewer" });
  });

  it("filters the audit log", async () => {
    const user = userEvent.setup();
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/audit": (call: Call) => ({
        entries: call.query.get("action")
          ? [
              {
                id: 7,
                at: NOW,
                actor: "user:ada",
                role: "admin",
                action: "create_key",
                method: "POST",
                path: "/api/v1/keys",
                target: "4f2a9c1e",
                status: 201,
                before: null,
                after: { name: "nightly loader", role: "operator" },
                detail: {},
                source_ip: "127.0.0.1",
                user_agent: "curl/8",
              },
            ]
          : [],
        next_cursor: null,
      }),
    });
    renderPage(<AdminPage />, { me: meAs("admin"), path: "/admin?tab=audit", pattern: "/admin" });
    expect(await screen.findByText("Nothing changed through the API yet.")).toBeInTheDocument();
    await user.type(screen.getByRole("textbox", { name: "Action" }), "create_key");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    const log = await screen.findByRole("region", { name: "Audit log" });
    expect(within(log).getByText("POST /api/v1/keys")).toBeInTheDocument();
    await waitFor(() => expect(calls.at(-1)?.query.get("action")).toBe("create_key"));
    await user.click(within(log).getByRole("button", { name: "Show audit entry 7" }));
    expect(screen.getByText(/"nightly loader"/)).toBeInTheDocument();
  });

  it("shows the LLM's tokens and cost against the daily budget, per day and per call", async () => {
    const totals = { calls: 3, cached: 1, failed: 1, skipped: 0, input_tokens: 1200, output_tokens: 400 };
    const calls = fakeGateway(fetchSpy, {
      "GET /api/v1/ai/usage": {
        days: [{ day: "2026-12-04", ...totals, cost_usd: 0.0096, purposes: { model_draft: { ...totals, cost_usd: 0.0096 } } }],
        today: { tokens: 1600, cost_usd: 0.0096, budget_tokens: 2000000, budget_cost_usd: 20 },
        prices: { "*": [15, 75] },
        calls: [
          { id: 2, at: NOW, purpose: "model_draft", dataset: "", provider: "anthropic", model: "claude-sonnet-4-5",
            input_tokens: 600, output_tokens: 200, cost_usd: 0.0048, cached: false, outcome: "invalid",
            reason: "the SQL names an unknown column: Column 'region' could not be resolved" },
        ],
      },
    });
    renderPage(<AdminPage />, { me: meAs("admin"), path: "/admin?tab=llm", pattern: "/admin" });
    const today = await screen.findByRole("region", { name: "Today" });
    expect(today).toHaveTextContent("1,600 of 2,000,000");
    expect(today).toHaveTextContent("$0.0096 of $20.00");
    const days = screen.getByRole("region", { name: "LLM usage per day" });
    expect(within(days).getByText("model_draft")).toBeInTheDocument();
    const latest = screen.getByRole("region", { name: "Latest LLM calls" });
    expect(within(latest).getByText("invalid")).toBeInTheDocument();
    expect(within(latest).getByText(/could not be resolved/)).toBeInTheDocument();
    expect(calls[0].query.get("days")).toBe("30");
  });

  it("asks nothing for someone who is not an admin", () => {
    fakeGateway(fetchSpy, {});
    renderPage(<AdminPage />, { me: meAs("operator"), path: "/admin", pattern: "/admin" });
    expect(screen.getByText(/Only admins/)).toBeInTheDocument();
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});
