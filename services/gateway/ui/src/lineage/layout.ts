// Lineage as a graph: the API's nodes and edges laid out left to right with dagre (pure, so it
// is tested without a browser).
import dagre from "@dagrejs/dagre";
import type { Schemas } from "../api/client";

export type Lineage = Schemas["LineagePublic"];
export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 54;

export interface PlacedNode {
  id: string;
  layer: string;
  name: string;
  x: number;
  y: number;
  href: string | null;
}

/** Where a node leads when clicked: a dataset's page, a model's page, or nowhere (a file). */
export function hrefOf(layer: string, name: string): string | null {
  if (layer === "bronze" || layer === "silver") return `/datasets/${encodeURIComponent(name)}`;
  if (layer === "gold") return `/models/${encodeURIComponent(name)}`;
  return null;
}

export function layout(lineage: Lineage): { nodes: PlacedNode[]; edges: Lineage["edges"] } {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const n of lineage.nodes) graph.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const known = new Set(lineage.nodes.map((n) => n.id));
  const edges = lineage.edges.filter((e) => known.has(e.source) && known.has(e.target));
  for (const e of edges) graph.setEdge(e.source, e.target);
  dagre.layout(graph);
  const nodes = lineage.nodes.map((n) => {
    const p = graph.node(n.id);
    return {
      id: n.id,
      layer: n.layer,
      name: n.name,
      x: p.x - NODE_WIDTH / 2,
      y: p.y - NODE_HEIGHT / 2,
      href: hrefOf(n.layer, n.name),
    };
  });
  return { nodes, edges };
}

/** The column-level edges into one node: each of its columns with the columns it comes from. */
export function columnsOf(lineage: Lineage, nodeId: string) {
  return (lineage.columns ?? []).filter((c) => c.node === nodeId);
}
