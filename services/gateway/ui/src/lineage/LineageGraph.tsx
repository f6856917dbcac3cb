// The interactive lineage graph (React Flow, laid out by dagre): file → Bronze → Silver → Gold,
// with zoom, pan, controls and a mini-map. Clicking a node (or Enter on it) opens its dataset,
// model or runs; Tab moves between nodes, and the focused node (or the one chosen in the list)
// shows its column-level lineage under the graph. A text list of the edges follows the graph
// for screen readers. This module is its own chunk (the graph libraries load only here).
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  type NodeProps,
  type NodeTypes,
  Position,
  ReactFlow,
} from "@xyflow/react";
import { type FocusEvent, type KeyboardEvent, useEffect, useId, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { PartState } from "../datasets/PartState";
import {
  columnLinks,
  LAYERS,
  type Lineage,
  type LineageFlowNode,
  layout,
  nodeLabel,
  nodesWithColumns,
  toFlow,
} from "./layout";

export function useLineage(dataset: string) {
  return useQuery({
    queryKey: ["dataset", dataset, "lineage"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/datasets/{name}/lineage", { params: { path: { name: dataset } } })),
  });
}

function LineageNodeView({ data }: NodeProps<LineageFlowNode>) {
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} style={{ opacity: 0 }} />
      <div style={{ padding: "0.3rem 0.6rem", lineHeight: 1.2, overflow: "hidden" }}>
        <div style={{ fontSize: 11, textTransform: "uppercase", letterSpacing: "0.04em", color: "#4a5568" }}>
          {data.layer}
          {data.current ? " · this dataset" : ""}
        </div>
        <div
          style={{ fontWeight: 600, fontSize: 13, whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" }}
          title={data.name}
        >
          {data.name}
        </div>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} style={{ opacity: 0 }} />
    </>
  );
}

const NODE_TYPES: NodeTypes = { lineage: LineageNodeView };
const A11Y = {
  "node.a11yDescription.default":
    "Press Enter to open this node's page. Its column-level lineage is listed under the graph.",
  "node.a11yDescription.keyboardDisabled": "Press Enter to open this node's page.",
};

/** A phone-sized screen: the mini-map would cover most of the graph there. */
function useNarrow(): boolean {
  const query = "(max-width: 760px)";
  const [narrow, setNarrow] = useState(() => typeof window !== "undefined" && !!window.matchMedia?.(query).matches);
  useEffect(() => {
    const list = window.matchMedia?.(query);
    if (!list) return;
    const change = () => setNarrow(list.matches);
    list.addEventListener("change", change);
    return () => list.removeEventListener("change", change);
  }, []);
  return narrow;
}

function nodeIdOf(target: EventTarget | null): string | null {
  const el = target instanceof Element ? target.closest(".react-flow__node") : null;
  return el?.getAttribute("data-id") ?? null;
}

function ColumnPanel({
  lineage,
  chosen,
  onChoose,
}: {
  lineage: Lineage;
  chosen: string | null;
  onChoose: (id: string) => void;
}) {
  const [show, setShow] = useState(true);
  const names = useMemo(() => new Map(lineage.nodes.map((n) => [n.id, nodeLabel(n)])), [lineage]);
  const known = useMemo(() => nodesWithColumns(lineage), [lineage]);
  const headingId = useId();
  const links = chosen ? columnLinks(lineage, chosen) : [];
  const source = (s: { node: string; column: string }) => `${names.get(s.node) ?? s.node}.${s.column}`;
  return (
    <section className="panel stack" aria-labelledby={headingId}>
      <h2 id={headingId} style={{ margin: 0, fontSize: "1rem" }}>
        Column-level lineage
      </h2>
      {known.size === 0 ? (
        <p className="muted">
          No column-level lineage is known here: it is recorded for the Gold models built from these datasets.
        </p>
      ) : (
        <>
          <label className="inline">
            <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} />
            Show column-level lineage
          </label>
          {show && (
            <>
              <label className="inline" style={{ flexWrap: "wrap" }}>
                Columns of
                <select value={chosen ?? ""} onChange={(e) => onChoose(e.target.value)} style={{ maxWidth: "100%" }}>
                  {chosen === null && <option value="">choose a node</option>}
                  {lineage.nodes.map((n) => (
                    <option key={n.id} value={n.id}>
                      {nodeLabel(n)}
                      {known.has(n.id) ? "" : " (none known)"}
                    </option>
                  ))}
                </select>
              </label>
              {chosen &&
                (links.length === 0 ? (
                  <p className="muted">No column-level lineage is known for {names.get(chosen) ?? chosen}.</p>
                ) : (
                  <div className="table-scroll" role="region" aria-label="Column-level lineage table" tabIndex={0}>
                    <table className="grid" aria-label={`Columns of ${names.get(chosen) ?? chosen}`}>
                      <thead>
                        <tr>
                          <th scope="col">Column</th>
                          <th scope="col">Comes from</th>
                          <th scope="col">Feeds</th>
                        </tr>
                      </thead>
                      <tbody>
                        {links.map((c) => (
                          <tr key={c.column}>
                            <td className="mono">{c.column}</td>
                            <td className="mono" style={{ whiteSpace: "normal" }}>
                              {c.from.map(source).join(", ") || "–"}
                            </td>
                            <td className="mono" style={{ whiteSpace: "normal" }}>
                              {c.to.map(source).join(", ") || "–"}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ))}
            </>
          )}
        </>
      )}
    </section>
  );
}

/** A lineage already fetched, drawn: the graph, the column-level lineage and the edge list. */
export function LineageView({ lineage, title }: { lineage: Lineage; title?: string }) {
  const navigate = useNavigate();
  const known = useMemo(() => nodesWithColumns(lineage), [lineage]);
  const [picked, setPicked] = useState<string | null>(null);
  const ids = useMemo(() => new Set(lineage.nodes.map((n) => n.id)), [lineage]);
  // Until someone picks a node: the first Gold node with known columns, else the dataset's Silver.
  const fallback =
    lineage.nodes.find((n) => n.layer === "gold" && known.has(n.id))?.id ??
    (ids.has(`silver:${lineage.dataset}`) ? `silver:${lineage.dataset}` : null);
  const chosen = picked && ids.has(picked) ? picked : fallback;
  const flow = useMemo(() => toFlow(lineage, chosen), [lineage, chosen]);
  const placed = useMemo(() => layout(lineage), [lineage]);
  const byId = useMemo(() => new Map(placed.nodes.map((n) => [n.id, n])), [placed]);
  const open = (id: string | null) => {
    const href = id ? byId.get(id)?.destination?.href : undefined;
    if (href) navigate(href);
  };
  const name = title ?? lineage.dataset;
  const narrow = useNarrow();
  return (
    <div className="stack">
      <p className="row muted" aria-hidden="true" style={{ fontSize: "0.85rem" }}>
        {["file", "bronze", "silver", "gold"].map((l) => (
          <span key={l} className="row" style={{ gap: "0.3rem" }}>
            <span
              style={{
                display: "inline-block",
                width: 12,
                height: 12,
                borderRadius: 3,
                background: LAYERS[l].fill,
                border: `1px solid ${LAYERS[l].line}`,
              }}
            />
            {l}
          </span>
        ))}
      </p>
      <div
        className="graph"
        role="group"
        aria-label={`Lineage graph of ${name}`}
        style={{ height: narrow ? 420 : "min(560px, 70vh)", minHeight: 320 }}
        onKeyDown={(e: KeyboardEvent) => {
          if (e.key !== "Enter") return;
          const id = nodeIdOf(e.target);
          if (id) {
            e.preventDefault();
            open(id);
          }
        }}
        onFocus={(e: FocusEvent) => {
          const id = nodeIdOf(e.target);
          if (id) setPicked(id);
        }}
      >
        <ReactFlow
          nodes={flow.nodes}
          edges={flow.edges}
          nodeTypes={NODE_TYPES}
          fitView
          fitViewOptions={{ padding: 0.15, minZoom: 0.5 }}
          minZoom={0.2}
          maxZoom={2}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          nodesFocusable
          edgesFocusable={false}
          deleteKeyCode={null}
          onNodeClick={(_, node) => open(node.id)}
          ariaLabelConfig={A11Y}
        >
          <Background />
          <Controls showInteractive={false} />
          {!narrow && (
            <MiniMap
              pannable
              zoomable
              ariaLabel={`Overview of the lineage graph of ${name}`}
              nodeColor={(n) => LAYERS[String((n.data as { layer?: string }).layer)]?.line ?? "#9aa6b8"}
            />
          )}
        </ReactFlow>
      </div>
      <p className="muted">
        Click a node, or Tab to it and press Enter, to open its dataset, model or runs. Drag to pan; scroll or use the
        controls to zoom.
      </p>
      <ColumnPanel lineage={lineage} chosen={chosen} onChoose={setPicked} />
      <section className="stack">
        <h2 style={{ fontSize: "1rem" }}>Edges</h2>
        {placed.edges.length === 0 ? (
          <p className="muted">No edges.</p>
        ) : (
          <ul aria-label="Lineage edges">
            {placed.edges.map((e) => {
              const from = byId.get(e.source);
              const to = byId.get(e.target);
              const end = (n: typeof from, id: string) =>
                !n ? (
                  <span>{id}</span>
                ) : n.destination ? (
                  <Link to={n.destination.href}>{nodeLabel(n)}</Link>
                ) : (
                  <span>{nodeLabel(n)}</span>
                );
              return (
                <li key={`${e.source}->${e.target}`}>
                  {end(from, e.source)} → {end(to, e.target)}
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </div>
  );
}

/** One dataset's lineage (everything upstream and downstream of it), fetched and drawn. */
export default function LineageGraph({ dataset }: { dataset: string }) {
  const lineage = useLineage(dataset);
  return (
    <PartState
      query={lineage}
      what="Loading lineage"
      isEmpty={(l) => l.nodes.length === 0}
      empty="No lineage recorded yet: it appears once a file has landed."
    >
      {(l) => <LineageView lineage={l} />}
    </PartState>
  );
}
