// Workflows: each with how it starts, paused or not, the next tick and the last run; admins
// define a new one (PUT /api/v1/workflows/{name}). Calls GET /api/v1/workflows.
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ago, when } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { QueryState } from "../components/States";
import { EXAMPLE, triggerText, useWorkflows, type Workflow } from "./api";
import { DefinitionEditor } from "./DefinitionEditor";

const COLUMNS: Column<Workflow>[] = [
  {
    key: "name",
    header: "Workflow",
    render: (w) => <Link to={`/workflows/${encodeURIComponent(w.name)}`}>{w.name}</Link>,
  },
  { key: "trigger", header: "Starts", render: (w) => <span title={triggerText(w.definition)}>{triggerText(w.definition)}</span> },
  {
    key: "state",
    header: "State",
    render: (w) => <Status value={w.paused ? "paused" : "active"} />,
  },
  {
    key: "next",
    header: "Next tick",
    render: (w) => (w.paused ? <span className="muted">none while paused</span> : when(w.next_tick)),
  },
  {
    key: "last",
    header: "Last run",
    render: (w) =>
      w.last_run ? (
        <span>
          <Status value={w.last_run.status} /> {ago(w.last_run.created_at)}
        </span>
      ) : (
        <span className="muted">never</span>
      ),
  },
  {
    key: "steps",
    header: "Steps",
    numeric: true,
    render: (w) => String(Array.isArray(w.definition.steps) ? w.definition.steps.length : 0),
  },
  { key: "origin", header: "Defined by", render: (w) => <span className="mono">{w.origin}</span> },
];

export default function WorkflowsPage() {
  const me = useMe();
  const admin = can(me.data, "admin");
  const workflows = useWorkflows();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  return (
    <section className="stack">
      <div className="spread">
        <h1>Workflows</h1>
        {admin && (
          <button
            type="button"
            className={creating ? undefined : "primary"}
            aria-expanded={creating}
            aria-controls="new-workflow"
            onClick={() => setCreating(!creating)}
          >
            {creating ? "Close the editor" : "New workflow"}
          </button>
        )}
      </div>
      <p className="muted">
        Pipeline work run unattended: on a schedule, after another workflow, on an event, or now.
      </p>
      {creating && (
        <div id="new-workflow">
          <DefinitionEditor
            initial={EXAMPLE}
            note="The example is created paused: resume it on its page."
            onSaved={(saved) => navigate(`/workflows/${encodeURIComponent(saved.name)}`)}
          />
        </div>
      )}
      <QueryState
        query={workflows}
        what="Loading workflows"
        isEmpty={(d) => d.workflows.length === 0}
        empty={
          <>
            No workflows yet.
            {admin
              ? " Define one with “New workflow”, or drop a YAML file in the workflows folder."
              : " An admin defines them."}
          </>
        }
      >
        {(data) => (
          <DataTable
            rows={data.workflows}
            columns={COLUMNS}
            rowKey={(w) => w.name}
            label="Workflows"
            rowHeight={40}
          />
        )}
      </QueryState>
    </section>
  );
}
