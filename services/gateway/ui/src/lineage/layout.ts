// Lineage as a graph, in pure functions (tested without a browser): the API's nodes and edges
// (GET /api/v1/datasets/{name}/lineage) laid out left to right by dagre and turned into React
// Flow nodes and edges; where each node leads; the column-level edges of a node; several
// datasets' lineages merged into one graph.
import dagre from "@dagrejs/dagre";
import { type Edge, MarkerType, type Node, Position } from "@xyflow/react";
import type { Schemas } from "../api/client";

export type Lineage = Schemas["LineagePublic"];
export type LineageNode = Schemas["LineageNode"];
export type ColumnSource = Schemas["ColumnSource"];

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 54;

/** Layers in their order along the flow, with their colours (fill, border). */
export const LAYERS: Record<string, { fill: string; line: string }> = {
  file: { fill: "#eceff3", line: "#8a94a6" },
  run: { fill: "#eceff3", line: "#8a94a6" },
  bronze: { fill: "#f6e3cf", line: "#a9652b" },
  silver: { fill: "#e5edfc", line: "#5b7bbd" },
  gold: { fill: "#fff1c2", line: "#a88300" },
};

/** How a node is named in text: its layer then its name ("silver orders"). */
export function nodeLabel(node: Pick<LineageNode, "layer" | "name">): string {
  return `${node.layer} ${node.name}`;
}

export interface Destination {
  href: string;
  /** What following it does, for the node's accessible name ("open the dataset orders"). */
  action: string;
}

/**
 * Where a node leads: a Bronze or Silver node to its dataset's page, a Gold node to its
 * model's page, a run to the run; a file (which has no page) to the runs of the dataset it
 * landed in.
 */
export function destinationOf(node: LineageNode, lineage: Pick<Lineage, "edges">): Destination | null {
  const name = encodeURIComponent(node.name);
  switch (node.layer) {
    case "bronze":
    case "silver":
      return { href: `/datasets/${name}`, action: `open the dataset ${node.name}` };
    case "gold":
      return { href: `/models/${name}`, action: `open the model ${node.name}` };
    case "run":
      return { href: `/runs/${name}`, action: `open the run ${node.name}` };
    case "file": {
      const into = lineage.edges.find((e) => e.source === node.id && e.target.startsWith("bronze:"));
      if (!into) return null;
      const dataset = into.target.slice("bronze:".length);
      return { href: `/runs?dataset=${encodeURIComponent(dataset)}`, action: `see the runs of ${dataset}` };
    }
    default:
      return null;
  }
}

export interface PlacedNode extends LineageNode {
  x: number;
  y: number;
  destination: Destination | null;
}

/** The nodes placed left to right by dagre (top-left corners); edges to unknown nodes dropped. */
export function layout(lineage: Lineage): { nodes: PlacedNode[]; edges: Lineage["edges"] } {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const n of lineage.nodes) graph.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const known = new Set(lineage.nodes.map((n) => n.id));
  const edges = lineage.edges.filter((e) => known.has(e.source) && known.has(e.target) && e.source !== e.target);
  for (const e of edges) graph.setEdge(e.source, e.target);
  dagre.layout(graph);
  const nodes = lineage.nodes.map((n) => {
    const p = graph.node(n.id);
    return {
      ...n,
      x: (p?.x ?? 0) - NODE_WIDTH / 2,
      y: (p?.y ?? 0) - NODE_HEIGHT / 2,
      destination: destinationOf(n, lineage),
    };
  });
  return { nodes, edges };
}

export interface LineageNodeData extends Record<string, unknown> {
  layer: string;
  name: string;
  href: string | null;
  /** One of the dataset's own nodes (its Bronze or Silver). */
  current: boolean;
  /** The node whose columns are listed under the graph. */
  chosen: boolean;
}
export type LineageFlowNode = Node<LineageNodeData, "lineage">;

/**
 * The lineage as React Flow nodes and edges: placed by `layout`, coloured by layer, each node
 * focusable with an accessible name saying what it is and where it leads; the dataset's own
 * nodes and the chosen node outlined, the chosen node's edges drawn stronger.
 */
export function toFlow(
  lineage: Lineage,
  chosen: string | null = null,
): { nodes: LineageFlowNode[]; edges: Edge[] } {
  const placed = layout(lineage);
  const own = new Set([`bronze:${lineage.dataset}`, `silver:${lineage.dataset}`]);
  const byId = new Map(placed.nodes.map((n) => [n.id, n]));
  const nodes: LineageFlowNode[] = placed.nodes.map((n) => {
    const colour = LAYERS[n.layer] ?? { fill: "#ffffff", line: "#9aa6b8" };
    const current = own.has(n.id);
    const isChosen = n.id === chosen;
    return {
      id: n.id,
      type: "lineage",
      position: { x: n.x, y: n.y },
      data: { layer: n.layer, name: n.name, href: n.destination?.href ?? null, current, chosen: isChosen },
      ariaLabel: `${nodeLabel(n)}${n.destination ? `: press Enter to ${n.destination.action}` : ""}`,
      // Fixed sizes (not only measured ones): the mini-map draws a controlled node from these.
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      style: {
        background: colour.fill,
        border: isChosen ? "3px solid #2457c5" : current ? `2px solid ${colour.line}` : `1px solid ${colour.line}`,
        borderRadius: 6,
        color: "#1b2330",
        cursor: n.destination ? "pointer" : "default",
      },
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      draggable: false,
      connectable: false,
      selectable: false,
    };
  });
  const edges: Edge[] = placed.edges.map((e) => {
    const touches = chosen !== null && (e.source === chosen || e.target === chosen);
    const from = byId.get(e.source);
    const to = byId.get(e.target);
    return {
      id: `${e.source}->${e.target}`,
      source: e.source,
      target: e.target,
      ariaLabel: `${from ? nodeLabel(from) : e.source} feeds ${to ? nodeLabel(to) : e.target}`,
      markerEnd: { type: MarkerType.ArrowClosed, color: touches ? "#2457c5" : "#8a94a6" },
      style: { stroke: touches ? "#2457c5" : "#8a94a6", strokeWidth: touches ? 2.5 : 1.5 },
      focusable: false,
      selectable: false,
    };
  });
  return { nodes, edges };
}

export interface ColumnLinks {
  column: string;
  /** The columns it is computed from. */
  from: ColumnSource[];
  /** The columns computed from it. */
  to: ColumnSource[];
}

/**
 * The column-level edges of one node, by column: what each of its columns comes from (a Gold
 * model's columns) and what is computed from it (a Silver dataset's or a model's columns used
 * downstream).
 */
export function columnLinks(lineage: Pick<Lineage, "columns">, nodeId: string): ColumnLinks[] {
  const byColumn = new Map<string, ColumnLinks>();
  const entry = (column: string) => {
    let found = byColumn.get(column);
    if (!found) byColumn.set(column, (found = { column, from: [], to: [] }));
    return found;
  };
  for (const c of lineage.columns ?? []) {
    if (c.node === nodeId) entry(c.column).from.push(...c.sources);
    for (const s of c.sources)
      if (s.node === nodeId) entry(s.column).to.push({ node: c.node, column: c.column });
  }
  return [...byColumn.values()].sort((a, b) => a.column.localeCompare(b.column));
}

/** The nodes that have column-level lineage (as a model's columns or as their sources). */
export function nodesWithColumns(lineage: Pick<Lineage, "columns">): Set<string> {
  const out = new Set<string>();
  for (const c of lineage.columns ?? []) {
    out.add(c.node);
    for (const s of c.sources) out.add(s.node);
  }
  return out;
}

/** Several datasets' lineages as one graph (nodes, edges and column edges each kept once). */
export function mergeLineages(lineages: Lineage[], dataset = ""): Lineage {
  const nodes = new Map<string, LineageNode>();
  const edges = new Map<string, Lineage["edges"][number]>();
  const columns = new Map<string, NonNullable<Lineage["columns"]>[number]>();
  for (const l of lineages) {
    for (const n of l.nodes) nodes.set(n.id, n);
    for (const e of l.edges) edges.set(`${e.source}\u0000${e.target}`, e);
    for (const c of l.columns ?? []) columns.set(`${c.node}\u0000${c.column}`, c);
  }
  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  return { dataset, nodes: sorted(nodes), edges: sorted(edges), columns: sorted(columns) };
}
