import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useLocation } from "react-router";
import { CUSTOMERS_LINEAGE, dataset } from "../datasets/fixtures";
import { json, mockApi, renderAt } from "../test/render";
import LineageGraph from "./LineageGraph";
import LineagePage from "./LineagePage";

// React Flow measures its pane and nodes; jsdom has no layout, so it gets a do-nothing observer,
// and the nodes stay `visibility: hidden` (unmeasured, so with no computed accessible name):
// they are found by role and their aria-label.
class NoResize {
  observe() {}
  unobserve() {}
  disconnect() {}
}

beforeEach(() => vi.stubGlobal("ResizeObserver", NoResize));
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

async function node(label: RegExp) {
  await screen.findByRole("group", { name: /^Lineage graph of/ });
  const found = screen
    .getAllByRole("group", { hidden: true })
    .find((el) => label.test(el.getAttribute("aria-label") ?? ""));
  if (!found) throw new Error(`no node labelled ${label}`);
  return found;
}

function Where() {
  const location = useLocation();
  return <output aria-label="Address">{location.pathname + location.search}</output>;
}

describe("LineageGraph", () => {
  it("draws the nodes as named, focusable elements and lists the edges as text", async () => {
    mockApi({ "GET /api/v1/datasets/customers/lineage": CUSTOMERS_LINEAGE });
    renderAt(<LineageGraph dataset="customers" />);
    const graph = await screen.findByRole("group", { name: "Lineage graph of customers" });
    const gold = await node(/^gold tiers/);
    expect(graph).toContainElement(gold);
    expect(gold).toHaveAttribute("aria-label", "gold tiers: press Enter to open the model tiers");
    expect(gold).toHaveAttribute("tabindex", "0");
    const edges = screen.getByRole("list", { name: "Lineage edges" });
    expect(edges).toHaveTextContent("file customers.csv → bronze customers");
    expect(edges).toHaveTextContent("bronze customers → silver customers");
    expect(within(edges).getAllByRole("link", { name: "gold tiers" })[0]).toHaveAttribute("href", "/models/tiers");
    expect(screen.getByRole("button", { name: "Zoom In" })).toBeInTheDocument();
  });

  it("lists the chosen node's column-level lineage, chosen from the list or by focusing a node", async () => {
    mockApi({ "GET /api/v1/datasets/customers/lineage": CUSTOMERS_LINEAGE });
    renderAt(<LineageGraph dataset="customers" />);
    const gold = await screen.findByRole("table", { name: "Columns of gold tiers" });
    expect(within(gold).getByText("revenue").closest("tr")).toHaveTextContent("silver customers.amount");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Columns of" }), "silver:customers");
    const silver = screen.getByRole("table", { name: "Columns of silver customers" });
    expect(within(silver).getByText("amount").closest("tr")).toHaveTextContent("gold tiers.revenue");
    fireEvent.focus(await node(/^bronze customers/));
    expect(screen.getByText("No column-level lineage is known for bronze customers.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("checkbox", { name: "Show column-level lineage" }));
    expect(screen.queryByRole("combobox", { name: "Columns of" })).not.toBeInTheDocument();
  });

  it("opens a node's page when it is clicked or Enter is pressed on it", async () => {
    mockApi({ "GET /api/v1/datasets/customers/lineage": CUSTOMERS_LINEAGE });
    renderAt(
      <>
        <LineageGraph dataset="customers" />
        <Where />
      </>,
      "/datasets/customers?tab=lineage",
    );
    const gold = await node(/^gold tiers/);
    fireEvent.click(gold);
    expect(screen.getByLabelText("Address")).toHaveTextContent("/models/tiers");
    fireEvent.keyDown(await node(/^file customers\.csv/), { key: "Enter" });
    expect(screen.getByLabelText("Address")).toHaveTextContent("/runs?dataset=customers");
  });

  it("says when there is no lineage yet, in the API's words", async () => {
    mockApi({
      "GET /api/v1/datasets/fresh/lineage": json(
        { title: "Not Found", detail: "dataset 'fresh' has no lineage yet: no file has landed in it" },
        404,
      ),
    });
    renderAt(<LineageGraph dataset="fresh" />);
    expect(await screen.findByText(/no file has landed in it/)).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("shows other errors with their detail", async () => {
    mockApi({
      "GET /api/v1/datasets/customers/lineage": json({ title: "Bad Gateway", detail: "the catalog is down" }, 502),
    });
    renderAt(<LineageGraph dataset="customers" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the catalog is down");
  });
});

describe("LineagePage", () => {
  it("offers a picker of datasets and draws every dataset's lineage together when they are few", async () => {
    mockApi({
      "GET /api/v1/datasets": {
        datasets: [dataset("customers"), dataset("staged", { layers: {}, runs: 0, last_run: null })],
        next_cursor: null,
      },
      "GET /api/v1/datasets/customers/lineage": CUSTOMERS_LINEAGE,
    });
    renderAt(<LineagePage />, "/lineage", "/lineage");
    const picker = await screen.findByRole("navigation", { name: "Datasets" });
    expect(within(picker).getByRole("link", { name: "customers" })).toHaveAttribute("href", "/lineage/customers");
    expect(within(picker).getByRole("link", { name: "staged" })).toBeInTheDocument();
    await userEvent.type(screen.getByRole("searchbox", { name: "Find a dataset" }), "stag");
    expect(within(picker).queryByRole("link", { name: "customers" })).not.toBeInTheDocument();
    expect(await screen.findByRole("group", { name: "Lineage graph of all datasets" })).toBeInTheDocument();
    expect(screen.getByRole("list", { name: "Lineage edges" })).toHaveTextContent("silver customers → gold tiers");
  });

  it("shows one dataset's graph at /lineage/:name", async () => {
    mockApi({ "GET /api/v1/datasets/customers/lineage": CUSTOMERS_LINEAGE });
    renderAt(<LineagePage />, "/lineage/customers", "/lineage/:name");
    expect(await screen.findByRole("heading", { name: "Lineage of customers", level: 1 })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open the dataset customers" })).toHaveAttribute("href", "/datasets/customers");
    expect(await screen.findByRole("group", { name: "Lineage graph of customers" })).toBeInTheDocument();
  });
});
