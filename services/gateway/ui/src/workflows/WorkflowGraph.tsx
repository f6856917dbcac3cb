// A workflow's steps as a graph (needs → edges), laid out left to right by dagre and drawn by
// React Flow; each step coloured by its state in the chosen run. The page lists the same steps
// as text beside it.
import "@xyflow/react/dist/style.css";
import { Graph, layout } from "@dagrejs/dagre";
import { type Edge, type Node, ReactFlow } from "@xyflow/react";
import { useMemo } from "react";
import type { StepDef } from "./api";

const WIDTH = 190;
const HEIGHT = 64;
const TONES: Record<string, [string, string]> = {
  succeeded: ["var(--ok)", "var(--ok-bg)"],
  failed: ["var(--bad)", "var(--bad-bg)"],
  running: ["var(--busy)", "var(--busy-bg)"],
  pending: ["var(--idle)", "var(--idle-bg)"],
  skipped: ["var(--idle)", "var(--idle-bg)"],
  cancelled: ["var(--warn)", "var(--warn-bg)"],
};

export function layoutSteps(steps: StepDef[], states: Record<string, string>) {
  const g = new Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 60, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps) g.setNode(s.name, { width: WIDTH, height: HEIGHT });
  const edges: Edge[] = [];
  for (const s of steps)
    for (const need of s.needs)
      if (names.has(need)) {
        g.setEdge(need, s.name);
        edges.push({ id: `${need}->${s.name}`, source: need, target: s.name });
      }
  layout(g);
  const nodes: Node[] = steps.map((s) => {
    const at = g.node(s.name);
    const state = states[s.name];
    const [line, fill] = (state && TONES[state]) || ["var(--line)", "var(--panel)"];
    return {
      id: s.name,
      position: { x: (at?.x ?? 0) - WIDTH / 2, y: (at?.y ?? 0) - HEIGHT / 2 },
      data: {
        label: (
          <div style={{ textAlign: "left", lineHeight: 1.25 }}>
            <strong>{s.name}</strong>
            {state ? ` · ${state}` : ""}
            <div style={{ color: "var(--muted)", fontSize: "0.8em", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
              {s.kind}: {s.target}
            </div>
          </div>
        ),
      },
      style: { width: WIDTH, border: `2px solid ${line}`, background: fill, borderRadius: 6, fontSize: 13 },
      sourcePosition: "right" as Node["sourcePosition"],
      targetPosition: "left" as Node["targetPosition"],
      draggable: false,
      connectable: false,
    };
  });
  const graph = g.graph();
  return { nodes, edges, height: graph.height ?? HEIGHT };
}

export default function WorkflowGraph({
  steps,
  states,
}: {
  steps: StepDef[];
  states: Record<string, string>;
}) {
  const { nodes, edges, height } = useMemo(() => layoutSteps(steps, states), [steps, states]);
  return (
    <div
      className="graph"
      style={{ height: Math.min(Math.max(height + 60, 180), 480) }}
      role="group"
      aria-label="Graph of the steps (the list beside it says the same)"
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        zoomOnScroll={false}
        preventScrolling={false}
        minZoom={0.3}
      />
    </div>
  );
}
