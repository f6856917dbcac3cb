// Configure a dataset to be fed from this connection (PUT /api/v1/datasets/{name}/source,
// admins) and start an extraction now (POST /api/v1/datasets/{name}/extract, operators),
// linking to the run it starts. GET .../source loads what a dataset has today.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, forwardRef, useId, useImperativeHandle, useRef, useState } from "react";
import { Link } from "react-router";
import { ago, when } from "../api/format";
import { ErrorBox } from "../components/States";
import {
  getSource,
  NAME_PATTERN,
  NAME_RULE,
  type Source,
  type SourceBody,
  type SourceTable,
  useExtract,
  usePutSource,
} from "./api";

interface Fields {
  dataset: string;
  from: "table" | "query";
  table: string;
  query: string;
  mode: "full" | "incremental";
  cursor: string;
  key: string;
  lookback: string;
  initial: string;
}

const EMPTY: Fields = {
  dataset: "",
  from: "table",
  table: "",
  query: "",
  mode: "full",
  cursor: "",
  key: "",
  lookback: "0",
  initial: "",
};

/** A dataset name from a table's name (lower snake case, starting with a letter). */
export function datasetNameFor(table: string): string {
  const base = table.split(".").pop() ?? table;
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .slice(0, 63);
  return name || "dataset";
}

export function toSourceBody(connection: string, f: Fields): SourceBody {
  const common = {
    connection,
    mode: f.mode,
    lookback: Number(f.lookback) || 0,
  };
  const extra: { key?: string[]; cursor?: string; initial?: string | number } = {};
  const key = f.key
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  if (key.length) extra.key = key;
  if (f.mode === "incremental") {
    if (f.cursor.trim()) extra.cursor = f.cursor.trim();
    const initial = f.initial.trim();
    if (initial) extra.initial = /^-?\d+(\.\d+)?$/.test(initial) ? Number(initial) : initial;
  }
  return f.from === "table"
    ? { ...common, ...extra, table: f.table.trim() }
    : { ...common, ...extra, query: f.query };
}

export interface ExtractionHandle {
  chooseTable: (table: SourceTable) => void;
}

export const ExtractionForm = forwardRef<
  ExtractionHandle,
  { connection: string; tables: SourceTable[]; canSave: boolean; canExtract: boolean }
>(function ExtractionForm({ connection, tables, canSave, canExtract }, ref) {
  const id = useId();
  const [f, setF] = useState<Fields>(EMPTY);
  const [saved, setSaved] = useState<Source | null>(null);
  const datasetInput = useRef<HTMLInputElement>(null);
  const put = usePutSource();
  const extract = useExtract();
  const load = useMutation({ mutationFn: getSource });
  const set = (patch: Partial<Fields>) => setF((old) => ({ ...old, ...patch }));

  useImperativeHandle(ref, () => ({
    chooseTable: (t) => {
      setF((old) => ({
        ...old,
        from: "table",
        table: `${t.schema}.${t.name}`,
        dataset: old.dataset || datasetNameFor(t.name),
        key: t.primary_key.join(", "),
        cursor: "",
      }));
      datasetInput.current?.focus();
    },
  }));

  const chosen = tables.find((t) => `${t.schema}.${t.name}` === f.table.trim() || t.name === f.table.trim());
  const validName = new RegExp(`^${NAME_PATTERN}$`).test(f.dataset);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    put.mutate(
      { dataset: f.dataset, body: toSourceBody(connection, f) },
      { onSuccess: (s) => setSaved(s) },
    );
  };
  const loadCurrent = () =>
    load.mutate(f.dataset, {
      onSuccess: (s) => {
        setSaved(s);
        setF({
          dataset: s.dataset,
          from: s.query ? "query" : "table",
          table: s.table ?? "",
          query: s.query ?? "",
          mode: s.mode,
          cursor: s.cursor ?? "",
          key: s.key.join(", "),
          lookback: String(s.lookback),
          initial: s.initial ?? "",
        });
      },
    });

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} style={{ marginTop: 0 }}>
        Extract into a dataset
      </h2>
      <p className="muted">
        Feed a dataset from a table or a read-only query of <strong>{connection}</strong>, in full
        each time or incrementally by a cursor column that grows. Choose “Use” on a table above to
        fill the form.
      </p>
      <div className="row" style={{ alignItems: "flex-end" }}>
        <label style={{ flex: "1 1 16rem" }}>
          Dataset
          <input
            ref={datasetInput}
            required
            value={f.dataset}
            onChange={(e) => set({ dataset: e.target.value })}
            pattern={NAME_PATTERN}
            title={NAME_RULE}
            placeholder="orders"
            autoComplete="off"
          />
        </label>
        <button type="button" onClick={loadCurrent} disabled={!validName || load.isPending}>
          Load its current source
        </button>
      </div>
      {load.error && <ErrorBox error={load.error} title={`No source loaded for ${f.dataset}`} />}
      {load.data && load.data.connection !== connection && (
        <p className="state error" role="alert">
          {load.data.dataset} is fed from connection {load.data.connection} today; saving here moves
          it to {connection}.
        </p>
      )}
      <fieldset>
        <legend>Read from</legend>
        <div className="row">
          <label className="inline">
            <input
              type="radio"
              name={`${id}-from`}
              checked={f.from === "table"}
              onChange={() => set({ from: "table" })}
            />
            a table
          </label>
          <label className="inline">
            <input
              type="radio"
              name={`${id}-from`}
              checked={f.from === "query"}
              onChange={() => set({ from: "query" })}
            />
            a query
          </label>
        </div>
        {f.from === "table" ? (
          <label>
            Table
            <input
              required
              value={f.table}
              onChange={(e) => set({ table: e.target.value })}
              placeholder="schema.table"
              list={`${id}-tables`}
              autoComplete="off"
              spellCheck={false}
            />
            <datalist id={`${id}-tables`}>
              {tables.slice(0, 500).map((t) => (
                <option key={`${t.schema}.${t.name}`} value={`${t.schema}.${t.name}`} />
              ))}
            </datalist>
          </label>
        ) : (
          <label>
            Query (one read-only SELECT)
            <textarea
              required
              rows={5}
              value={f.query}
              onChange={(e) => set({ query: e.target.value })}
              placeholder="SELECT id, total, updated_at FROM sales.orders"
              spellCheck={false}
            />
          </label>
        )}
      </fieldset>
      <fieldset>
        <legend>Mode</legend>
        <div className="row">
          <label className="inline">
            <input
              type="radio"
              name={`${id}-mode`}
              checked={f.mode === "full"}
              onChange={() => set({ mode: "full" })}
            />
            full (every row each time; rows gone from the source are deleted)
          </label>
          <label className="inline">
            <input
              type="radio"
              name={`${id}-mode`}
              checked={f.mode === "incremental"}
              onChange={() => set({ mode: "incremental" })}
            />
            incremental (rows past the watermark)
          </label>
        </div>
      </fieldset>
      <div className="columns">
        {f.mode === "incremental" && (
          <label>
            Cursor column
            <input
              required
              value={f.cursor}
              onChange={(e) => set({ cursor: e.target.value })}
              placeholder="updated_at"
              list={`${id}-columns`}
              autoComplete="off"
              spellCheck={false}
            />
            <datalist id={`${id}-columns`}>
              {(chosen?.columns ?? []).map((c) => (
                <option key={c.name} value={c.name}>
                  {c.type}
                </option>
              ))}
            </datalist>
          </label>
        )}
        <label>
          Key columns (comma-separated)
          <input
            value={f.key}
            onChange={(e) => set({ key: e.target.value })}
            placeholder="id"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        {f.mode === "incremental" && (
          <>
            <div>
              <label>
                Lookback
                <input
                  type="number"
                  min={0}
                  step="any"
                  value={f.lookback}
                  onChange={(e) => set({ lookback: e.target.value })}
                  aria-describedby={`${id}-lookback`}
                />
              </label>
              <span id={`${id}-lookback`} className="muted">
                seconds for a time cursor, units otherwise
              </span>
            </div>
            <label>
              Start after (optional)
              <input
                value={f.initial}
                onChange={(e) => set({ initial: e.target.value })}
                placeholder="2024-01-01 or 1000"
                autoComplete="off"
              />
            </label>
          </>
        )}
      </div>
      {put.error && <ErrorBox error={put.error} title="The source was not saved" />}
      <div className="row">
        {canSave && (
          <button type="submit" className="primary" disabled={put.isPending}>
            {put.isPending ? "Saving…" : "Save the source"}
          </button>
        )}
        {canExtract && (
          <button
            type="button"
            onClick={() => extract.mutate(f.dataset)}
            disabled={!validName || extract.isPending}
          >
            {extract.isPending ? "Starting…" : "Extract now"}
          </button>
        )}
        {!canSave && <span className="muted">Only admins change a dataset's source.</span>}
      </div>
      {saved && (
        <div className="panel" role="status">
          <strong>{saved.dataset}</strong> reads{" "}
          <span className="mono">{saved.table ?? "a query"}</span> of {saved.connection},{" "}
          {saved.mode}
          {saved.cursor ? ` by ${saved.cursor}` : ""}
          {saved.key.length ? `, key ${saved.key.join(", ")}` : ""}. Watermark:{" "}
          {saved.watermark ?? "none yet"} · changed {ago(saved.updated_at)} ({when(saved.updated_at)})
        </div>
      )}
      {extract.error && <ErrorBox error={extract.error} title="The extraction did not start" />}
      {extract.data && (
        <div className="panel" role="status">
          Extraction of <strong>{extract.data.dataset}</strong> started ({extract.data.window}).{" "}
          <Link to={`/runs/${encodeURIComponent(extract.data.run_id)}`}>Open the run</Link>
        </div>
      )}
    </form>
  );
});
