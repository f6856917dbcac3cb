// Source databases (operators read and test them, admins add them): the connections, a
// "New connection" form, and "Test connection" for any of them.
// Calls GET /api/v1/connections, POST /api/v1/connections, POST /api/v1/connections/{name}/test.
import { useState } from "react";
import { Link } from "react-router";
import { ago } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { Empty, QueryState } from "../components/States";
import { type Connection, kindLabel, useConnections, useTestConnection } from "./api";
import { ConnectionForm } from "./ConnectionForm";
import { TestResult } from "./TestResult";

export default function SourcesPage() {
  const me = useMe();
  const operator = can(me.data, "operator");
  const admin = can(me.data, "admin");
  const connections = useConnections(operator);
  const test = useTestConnection();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Connection | null>(null);

  const columns: Column<Connection>[] = [
    {
      key: "name",
      header: "Name",
      render: (c) => <Link to={`/sources/${encodeURIComponent(c.name)}`}>{c.name}</Link>,
    },
    { key: "kind", header: "Kind", render: (c) => kindLabel(c.kind) },
    { key: "host", header: "Host", render: (c) => <span className="mono">{`${c.host}:${c.port}`}</span> },
    { key: "database", header: "Database", render: (c) => c.database || <span className="muted">–</span> },
    { key: "user", header: "User", render: (c) => c.user || <span className="muted">–</span> },
    {
      key: "password",
      header: "Password",
      render: (c) => (c.has_password ? "stored" : <span className="muted">none</span>),
    },
    { key: "updated", header: "Changed", render: (c) => ago(c.updated_at) },
    {
      key: "test",
      header: "Test",
      width: "7rem",
      render: (c) => (
        <button
          type="button"
          onClick={() => test.mutate(c.name)}
          disabled={test.isPending}
          aria-label={`Test ${c.name}`}
        >
          Test
        </button>
      ),
    },
  ];

  if (me.data && !operator)
    return (
      <section>
        <h1>Sources</h1>
        <Empty>Source database connections are for operators and admins.</Empty>
      </section>
    );

  return (
    <section className="stack">
      <div className="spread">
        <h1>Sources</h1>
        {admin && (
          <button
            type="button"
            className={creating ? undefined : "primary"}
            aria-expanded={creating}
            aria-controls="new-connection"
            onClick={() => setCreating(!creating)}
          >
            {creating ? "Close the form" : "New connection"}
          </button>
        )}
      </div>
      <p className="muted">
        Databases FlowForge extracts datasets from. Passwords are sealed at rest and never shown.
      </p>
      {creating && (
        <div id="new-connection">
          <ConnectionForm
            onCreated={(c) => {
              setCreated(c);
              setCreating(false);
              test.reset();
            }}
          />
        </div>
      )}
      {created && (
        <div className="panel row" role="status">
          <span>
            Connection <Link to={`/sources/${encodeURIComponent(created.name)}`}>{created.name}</Link>{" "}
            saved.
          </span>
          <button
            type="button"
            className="primary"
            onClick={() => test.mutate(created.name)}
            disabled={test.isPending}
          >
            Test connection
          </button>
        </div>
      )}
      <div aria-live="polite">
        <TestResult test={test} />
      </div>
      <h2>Connections</h2>
      <QueryState
        query={connections}
        what="Loading connections"
        isEmpty={(d) => d.connections.length === 0}
        empty={
          <>
            No connections yet.
            {admin ? " Add one with “New connection”." : " An admin adds them."}
          </>
        }
      >
        {(data) => (
          <DataTable
            rows={data.connections}
            columns={columns}
            rowKey={(c) => c.name}
            label="Connections"
            rowHeight={40}
          />
        )}
      </QueryState>
    </section>
  );
}
