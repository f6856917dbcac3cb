import { CUSTOMERS_LINEAGE } from "../datasets/fixtures";
import { columnLinks, destinationOf, layout, mergeLineages, nodesWithColumns, toFlow } from "./layout";

const LINEAGE = {
  ...CUSTOMERS_LINEAGE,
  // An edge to a node the answer does not hold is dropped, not drawn to nowhere.
  edges: [...CUSTOMERS_LINEAGE.edges, { source: "silver:customers", target: "gold:gone" }],
};

describe("toFlow", () => {
  it("turns the API's nodes into focusable React Flow nodes laid out left to right", () => {
    const { nodes } = toFlow(LINEAGE);
    expect(nodes.map((n) => n.id).sort()).toEqual([
      "bronze:customers",
      "file:customers.csv",
      "gold:tiers",
      "silver:customers",
    ]);
    const x = Object.fromEntries(nodes.map((n) => [n.id, n.position.x]));
    expect(x["file:customers.csv"]).toBeLessThan(x["bronze:customers"]);
    expect(x["bronze:customers"]).toBeLessThan(x["silver:customers"]);
    expect(x["silver:customers"]).toBeLessThan(x["gold:tiers"]);
    const silver = nodes.find((n) => n.id === "silver:customers")!;
    expect(silver).toMatchObject({
      type: "lineage",
      ariaLabel: "silver customers: press Enter to open the dataset customers",
      data: { layer: "silver", name: "customers", href: "/datasets/customers", current: true, chosen: false },
      sourcePosition: "right",
      targetPosition: "left",
      draggable: false,
      connectable: false,
    });
    expect(nodes.find((n) => n.id === "gold:tiers")).toMatchObject({
      ariaLabel: "gold tiers: press Enter to open the model tiers",
      data: { href: "/models/tiers", current: false },
    });
    expect(nodes.find((n) => n.id === "file:customers.csv")?.data.href).toBe("/runs?dataset=customers");
  });

  it("draws one edge per known pair, with an accessible name, and outlines the chosen node's edges", () => {
    const { nodes, edges } = toFlow(LINEAGE, "gold:tiers");
    expect(edges.map((e) => e.id).sort()).toEqual([
      "bronze:customers->silver:customers",
      "file:customers.csv->bronze:customers",
      "silver:customers->gold:tiers",
    ]);
    const toGold = edges.find((e) => e.target === "gold:tiers")!;
    expect(toGold).toMatchObject({ source: "silver:customers", ariaLabel: "silver customers feeds gold tiers" });
    expect(toGold.style?.strokeWidth).toBeGreaterThan(edges.find((e) => e.target === "bronze:customers")!.style!.strokeWidth as number);
    expect(nodes.find((n) => n.id === "gold:tiers")?.data.chosen).toBe(true);
    expect(String(nodes.find((n) => n.id === "gold:tiers")?.style?.border)).toContain("3px");
  });

  it("places nothing at NaN when there are no edges", () => {
    const { nodes, edges } = layout({ dataset: "x", nodes: [{ id: "silver:x", layer: "silver", name: "x" }], edges: [], columns: [] });
    expect(edges).toEqual([]);
    expect(Number.isFinite(nodes[0].x) && Number.isFinite(nodes[0].y)).toBe(true);
  });
});

describe("where nodes lead", () => {
  it("sends datasets, models and runs to their pages, and a file to its dataset's runs", () => {
    const edges = [{ source: "file:a b.csv", target: "bronze:a b" }];
    expect(destinationOf({ id: "silver:a b", layer: "silver", name: "a b" }, { edges })?.href).toBe("/datasets/a%20b");
    expect(destinationOf({ id: "bronze:a b", layer: "bronze", name: "a b" }, { edges })?.href).toBe("/datasets/a%20b");
    expect(destinationOf({ id: "gold:m", layer: "gold", name: "m" }, { edges })?.href).toBe("/models/m");
    expect(destinationOf({ id: "run:r1", layer: "run", name: "r1" }, { edges })?.href).toBe("/runs/r1");
    expect(destinationOf({ id: "file:a b.csv", layer: "file", name: "a b.csv" }, { edges })?.href).toBe(
      "/runs?dataset=a%20b",
    );
    expect(destinationOf({ id: "file:lost.csv", layer: "file", name: "lost.csv" }, { edges })).toBeNull();
  });
});

describe("column-level lineage", () => {
  it("lists a model's columns with their sources, and a dataset's columns with what they feed", () => {
    expect(columnLinks(LINEAGE, "gold:tiers")).toEqual([
      { column: "revenue", from: [{ node: "silver:customers", column: "amount" }], to: [] },
      { column: "tier", from: [{ node: "silver:customers", column: "tier" }], to: [] },
    ]);
    expect(columnLinks(LINEAGE, "silver:customers")).toEqual([
      { column: "amount", from: [], to: [{ node: "gold:tiers", column: "revenue" }] },
      { column: "tier", from: [], to: [{ node: "gold:tiers", column: "tier" }] },
    ]);
    expect(columnLinks(LINEAGE, "bronze:customers")).toEqual([]);
    expect([...nodesWithColumns(LINEAGE)].sort()).toEqual(["gold:tiers", "silver:customers"]);
  });
});

describe("mergeLineages", () => {
  it("keeps each node, edge and column edge once", () => {
    const orders = {
      dataset: "orders",
      nodes: [
        { id: "file:o.csv", layer: "file", name: "o.csv" },
        { id: "bronze:orders", layer: "bronze", name: "orders" },
        { id: "silver:orders", layer: "silver", name: "orders" },
        { id: "gold:tiers", layer: "gold", name: "tiers" },
      ],
      edges: [
        { source: "file:o.csv", target: "bronze:orders" },
        { source: "bronze:orders", target: "silver:orders" },
        { source: "silver:orders", target: "gold:tiers" },
      ],
      columns: [{ node: "gold:tiers", column: "revenue", sources: [{ node: "silver:customers", column: "amount" }] }],
    };
    const merged = mergeLineages([CUSTOMERS_LINEAGE, orders]);
    expect(merged.nodes).toHaveLength(7);
    expect(merged.edges).toHaveLength(6);
    expect(merged.columns).toHaveLength(2);
    expect(toFlow(merged).edges).toHaveLength(6);
  });
});
