// Gold models (GET /api/v1/models): name, materialization, last build, rows, version; admins
// define a new one (POST /api/v1/models) with its SQL; operators draft one from a question
// (POST /api/v1/models/draft), which an admin reviews and saves with the same form.
import { type FormEvent, useCallback, useId, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ago, count, when } from "../api/format";
import { can, useMe } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { ErrorBox, QueryState } from "../components/States";
import { type Draft, type Materialization, type Model, type ModelCreate, useModels, useSaveModel } from "./api";
import { DraftPanel } from "./DraftPanel";
import { LastBuild } from "./LastBuild";
import SqlEditor from "./SqlEditor";

const COLUMNS: Column<Model>[] = [
  {
    key: "name",
    header: "Model",
    render: (m) => <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>,
  },
  { key: "mat", header: "Materialization", render: (m) => m.materialized },
  { key: "build", header: "Last build", render: (m) => <LastBuild model={m} /> },
  { key: "rows", header: "Rows", numeric: true, render: (m) => count(m.row_count) },
  { key: "version", header: "Version", numeric: true, render: (m) => m.version ?? "–" },
  {
    key: "reads",
    header: "Reads",
    render: (m) => {
      const text = m.depends_on.join(", ");
      return <span title={text}>{text || "–"}</span>;
    },
  },
  { key: "updated", header: "Defined", render: (m) => <span title={when(m.updated_at)}>{ago(m.updated_at)}</span> },
];

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function NewModelForm({
  tables,
  onCancel,
  initial,
}: {
  tables?: Record<string, string[]>;
  onCancel: () => void;
  initial?: Draft;
}) {
  const save = useSaveModel();
  const navigate = useNavigate();
  const id = useId();
  const [name, setName] = useState(initial?.name ?? "");
  const [materialized, setMaterialized] = useState<Materialization>("table");
  const [uniqueKey, setUniqueKey] = useState("");
  const [strategy, setStrategy] = useState<"timestamp" | "check">("timestamp");
  const [updatedAt, setUpdatedAt] = useState("");
  const [checkCols, setCheckCols] = useState("");
  const [description, setDescription] = useState(initial?.explanation ?? "");
  const [sql, setSql] = useState(initial?.sql ?? "SELECT *\nFROM ");
  const badName = name !== "" && !NAME.test(name);
  const keyed = materialized === "incremental" || materialized === "snapshot";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (badName || !name) return;
    const key = list(uniqueKey);
    const body: ModelCreate = {
      name,
      sql,
      materialized,
      unique_key: keyed && key.length ? (key.length === 1 ? key[0] : key) : null,
      hard_deletes: "ignore",
      description,
    };
    if (materialized === "snapshot") {
      body.strategy = strategy;
      if (strategy === "timestamp") body.updated_at = updatedAt.trim() || null;
      else body.check_cols = checkCols.trim() === "all" ? "all" : list(checkCols);
    }
    save.mutate(body, { onSuccess: (saved) => navigate(`/models/${encodeURIComponent(saved.name)}`) });
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`} style={{ marginTop: 0 }}>
        New model
      </h2>
      <div className="row">
        <label>
          Name
          <input
            value={name}
            required
            onChange={(e) => setName(e.target.value)}
            aria-invalid={badName}
            aria-describedby={`${id}-name`}
            placeholder="daily_revenue"
          />
        </label>
        <label>
          Materialization
          <select value={materialized} onChange={(e) => setMaterialized(e.target.value as Materialization)}>
            <option value="table">table: rebuilt after each batch</option>
            <option value="incremental">incremental: new rows merged by key</option>
            <option value="snapshot">snapshot: history of changes (SCD 2)</option>
          </select>
        </label>
        {keyed && (
          <label>
            Unique key
            <input value={uniqueKey} required onChange={(e) => setUniqueKey(e.target.value)} placeholder="order_id (comma-separated)" />
          </label>
        )}
        {materialized === "snapshot" && (
          <>
            <label>
              Compare by
              <select value={strategy} onChange={(e) => setStrategy(e.target.value as "timestamp" | "check")}>
                <option value="timestamp">timestamp (an updated-at column)</option>
                <option value="check">check (the values of some columns)</option>
              </select>
            </label>
            {strategy === "timestamp" ? (
              <label>
                Updated-at column
                <input value={updatedAt} required onChange={(e) => setUpdatedAt(e.target.value)} />
              </label>
            ) : (
              <label>
                Columns compared
                <input value={checkCols} required onChange={(e) => setCheckCols(e.target.value)} placeholder="status, amount (or all)" />
              </label>
            )}
          </>
        )}
      </div>
      <p id={`${id}-name`} className={badName ? "state error" : "muted"} style={{ margin: 0 }}>
        Lower-case letters, digits and _, starting with a letter. A model of the same name is
        replaced.
      </p>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10_000} />
      </label>
      <div>
        <p className="muted" style={{ margin: "0 0 0.3rem" }}>
          One DuckDB SELECT reading datasets (their valid Silver rows) and other models by name.
        </p>
        <SqlEditor value={sql} onChange={setSql} ariaLabel="Model SQL" tables={tables} />
      </div>
      <div className="row">
        <button type="submit" className="primary" disabled={save.isPending || badName || !name}>
          {save.isPending ? "Creating…" : "Create model"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {save.error && <ErrorBox error={save.error} title="The model was not created" />}
    </form>
  );
}

export default function ModelsPage() {
  const me = useMe();
  const admin = can(me.data, "admin");
  const operator = can(me.data, "operator");
  const models = useModels();
  const [creating, setCreating] = useState(false);
  const [drafting, setDrafting] = useState(false);
  const [fromDraft, setFromDraft] = useState<Draft | undefined>(undefined);
  const all = useMemo(() => models.data?.pages.flatMap((p) => p.models) ?? [], [models.data]);
  const tables = useMemo(
    () => Object.fromEntries(all.map((m) => [m.name, (m.columns ?? []).map((c) => c.name)])),
    [all],
  );
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = models;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  return (
    <section className="stack">
      <div className="spread">
        <h1 style={{ margin: 0 }}>Gold models</h1>
        <div className="row">
          {operator && !drafting && (
            <button type="button" onClick={() => setDrafting(true)}>
              Draft from a question
            </button>
          )}
          {admin && !creating && (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New model
            </button>
          )}
        </div>
      </div>
      <p className="muted" style={{ margin: 0 }}>
        SQL over the datasets' valid rows and other models, rebuilt when the data they read lands.
      </p>
      {drafting && (
        <DraftPanel
          admin={admin}
          onClose={() => setDrafting(false)}
          onUse={(d) => {
            setFromDraft(d);
            setCreating(true);
          }}
        />
      )}
      {creating && (
        <NewModelForm
          key={fromDraft?.sql ?? "new"}
          tables={tables}
          initial={fromDraft}
          onCancel={() => {
            setCreating(false);
            setFromDraft(undefined);
          }}
        />
      )}
      <QueryState
        query={models}
        what="Loading models"
        isEmpty={(d) => d.pages[0].models.length === 0}
        empty={
          <>
            No Gold models yet.{" "}
            {admin ? "Create one with New model." : "An admin defines them (here, or as model files)."}
          </>
        }
      >
        {() => (
          <DataTable
            rows={all}
            columns={COLUMNS}
            rowKey={(m) => m.name}
            label="Gold models"
            onEndReached={more}
            footer={
              <p className="muted" style={{ padding: "0 0.6rem" }}>
                {count(all.length)} models{hasNextPage ? " (scroll for more)" : ""}
              </p>
            }
          />
        )}
      </QueryState>
    </section>
  );
}
