// The interactive lineage graph (React Flow): zoom, pan, a mini-map; a node opens its dataset,
// model or run; selecting a Gold node lists its columns' sources. A text list of the edges
// follows the graph for screen readers and keyboards.
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import { Background, Controls, type Edge, MiniMap, type Node, ReactFlow } from "@xyflow/react";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { Empty, QueryState } from "../components/States";
import { columnsOf, type Lineage, layout } from "./layout";

const LAYER_COLOUR: Record<string, string> = {
  file: "#eceff3",
  bronze: "#f6e3cf",
  silver: "#e5edfc",
  gold: "#fff1c2",
};

export function useLineage(dataset: string) {
  return useQuery({
    queryKey: ["dataset", dataset, "lineage"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/datasets/{name}/lineage", { params: { path: { name: dataset } } })),
  });
}

function Graph({ lineage }: { lineage: Lineage }) {
  const navigate = useNavigate();
  const [selected, setSelected] = useState<string | null>(null);
  const placed = useMemo(() => layout(lineage), [lineage]);
  const nodes: Node[] = placed.nodes.map((n) => ({
    id: n.id,
    position: { x: n.x, y: n.y },
    data: { label: `${n.layer} · ${n.name}` },
    ariaLabel: `${n.layer} ${n.name}${n.href ? ", press Enter to open" : ""}`,
    style: {
      background: LAYER_COLOUR[n.layer] ?? "#fff",
      border: n.id === selected ? "2px solid #2457c5" : "1px solid #9aa6b8",
      borderRadius: 6,
      width: 180,
      fontSize: 13,
      color: "#1b2330",
    },
    sourcePosition: "right" as Node["sourcePosition"],
    targetPosition: "left" as Node["targetPosition"],
  }));
  const edges: Edge[] = placed.edges.map((e) => ({
    id: `${e.source}->${e.target}`,
    source: e.source,
    target: e.target,
    animated: false,
  }));
  const names = new Map(placed.nodes.map((n) => [n.id, n]));
  const columns = selected ? columnsOf(lineage, selected) : [];
  return (
    <div className="stack">
      <div className="graph" role="group" aria-label={`Lineage graph of ${lineage.dataset}`}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          fitView
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable
          onNodeClick={(_, node) => setSelected(node.id)}
          onNodeDoubleClick={(_, node) => {
            const href = names.get(node.id)?.href;
            if (href) navigate(href);
          }}
          onKeyDown={(e) => {
            const id = (e.target as HTMLElement).closest("[data-id]")?.getAttribute("data-id");
            if (e.key === "Enter" && id) {
              const href = names.get(id)?.href;
              if (href) navigate(href);
            }
          }}
          proOptions={{ hideAttribution: false }}
        >
          <Background />
          <Controls />
          <MiniMap
            pannable
            zoomable
            ariaLabel="Overview of the lineage graph"
            nodeColor={(n) => String(n.style?.background ?? "#9aa6b8")}
          />
        </ReactFlow>
      </div>
      <p className="muted">Click a node to see its columns' sources; double-click (or Enter) opens it.</p>
      {selected && (
        <div className="panel">
          <h3>Columns of {names.get(selected)?.name}</h3>
          {columns.length === 0 ? (
            <Empty>No column-level lineage is known for this node.</Empty>
          ) : (
            <ul aria-label="Column lineage">
              {columns.map((c) => (
                <li key={c.column}>
                  <code>{c.column}</code> ←{" "}
                  {c.sources.map((s) => `${names.get(s.node)?.name ?? s.node}.${s.column}`).join(", ") || "computed"}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <h3>Edges</h3>
      <ul aria-label="Lineage edges">
        {placed.edges.map((e) => {
          const from = names.get(e.source);
          const to = names.get(e.target);
          const link = (n: typeof from) =>
            n?.href ? <Link to={n.href}>{`${n.layer} ${n.name}`}</Link> : <span>{`${n?.layer} ${n?.name}`}</span>;
          return (
            <li key={`${e.source}->${e.target}`}>
              {link(from)} → {link(to)}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

export default function LineageGraph({ dataset }: { dataset: string }) {
  const lineage = useLineage(dataset);
  return (
    <QueryState
      query={lineage}
      what="Loading lineage"
      isEmpty={(l) => l.nodes.length === 0}
      empty="No lineage recorded yet: it appears once a file has landed."
    >
      {(l) => <Graph lineage={l} />}
    </QueryState>
  );
}
