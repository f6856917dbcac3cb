import { columnsOf, hrefOf, layout } from "./layout";

const LINEAGE = {
  dataset: "customers",
  nodes: [
    { id: "gold:tiers", layer: "gold", name: "tiers" },
    { id: "file:c.csv", layer: "file", name: "c.csv" },
    { id: "silver:customers", layer: "silver", name: "customers" },
    { id: "bronze:customers", layer: "bronze", name: "customers" },
  ],
  edges: [
    { source: "file:c.csv", target: "bronze:customers" },
    { source: "bronze:customers", target: "silver:customers" },
    { source: "silver:customers", target: "gold:tiers" },
    { source: "silver:customers", target: "gold:gone" },
  ],
  columns: [{ node: "gold:tiers", column: "amount", sources: [{ node: "silver:customers", column: "amount" }] }],
};

it("lays the layers out left to right and drops edges to unknown nodes", () => {
  const { nodes, edges } = layout(LINEAGE);
  const x = Object.fromEntries(nodes.map((n) => [n.id, n.x]));
  expect(x["file:c.csv"]).toBeLessThan(x["bronze:customers"]);
  expect(x["bronze:customers"]).toBeLessThan(x["silver:customers"]);
  expect(x["silver:customers"]).toBeLessThan(x["gold:tiers"]);
  expect(edges).toHaveLength(3);
});

it("links datasets and models, not files, and finds a node's column sources", () => {
  expect(hrefOf("silver", "a b")).toBe("/datasets/a%20b");
  expect(hrefOf("gold", "tiers")).toBe("/models/tiers");
  expect(hrefOf("file", "c.csv")).toBeNull();
  expect(columnsOf(LINEAGE, "gold:tiers")[0].sources[0].column).toBe("amount");
  expect(columnsOf(LINEAGE, "silver:customers")).toEqual([]);
});
