// A Gold model drafted from a question (POST /api/v1/models/draft): the LLM writes it from the
// catalog's metadata, the gateway checks it and runs it on a sample. The panel shows the
// status and reason, the SQL, the columns it reads (lineage) and the sample's first rows; an
// admin takes a ready draft into the model form to review and save it. Nothing is saved here.
import { type FormEvent, useId, useState } from "react";
import { type Column, DataTable } from "../components/DataTable";
import { ErrorBox } from "../components/States";
import { type Draft, useDraftModel } from "./api";

const TONE: Record<Draft["status"], string> = { ready: "ok", refused: "bad", unavailable: "warn" };

function Lineage({ draft }: { draft: Draft }) {
  const used = Object.entries(draft.columns_used ?? {});
  const result = Object.entries(draft.lineage ?? {});
  return (
    <div className="columns">
      <div>
        <h4>Columns it reads</h4>
        <ul aria-label="Columns it reads">
          {used.map(([table, columns]) => (
            <li key={table}>
              <span className="mono">{table}</span>: {columns.join(", ")}
            </li>
          ))}
        </ul>
      </div>
      <div>
        <h4>Each result column from</h4>
        <ul aria-label="Result columns from">
          {result.map(([column, inputs]) => (
            <li key={column}>
              <span className="mono">{column}</span> ← {inputs.join(", ") || "no input column"}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function SampleRows({ draft }: { draft: Draft }) {
  const tried = draft.dry_run;
  if (!tried) return null;
  const columns: Column<unknown[]>[] = tried.columns.map((c, i) => ({
    key: `${i}`,
    header: c.name,
    render: (row) => String(row[i] ?? "–"),
  }));
  return (
    <div>
      <h4>On a sample</h4>
      <p className="muted" style={{ margin: "0 0 0.3rem" }}>
        The first rows of its result over each input's first {tried.sample_rows.toLocaleString("en")} valid rows
        ({tried.seconds} s).
      </p>
      <DataTable rows={tried.rows} columns={columns} rowKey={(_, i) => String(i)} label="Draft on a sample" maxHeight={320} />
    </div>
  );
}

export function DraftPanel({
  admin,
  onUse,
  onClose,
}: {
  admin: boolean;
  onUse: (draft: Draft) => void;
  onClose: () => void;
}) {
  const id = useId();
  const draft = useDraftModel();
  const [question, setQuestion] = useState("");
  const [datasets, setDatasets] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const names = datasets.split(",").map((s) => s.trim()).filter(Boolean);
    draft.mutate({ question: question.trim(), datasets: names.length ? names : null, refresh: false });
  };
  const found = draft.data;
  return (
    <section className="panel stack" aria-labelledby={`${id}-h`}>
      <div className="spread">
        <h2 id={`${id}-h`} style={{ margin: 0 }}>
          Draft a model from a question
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <form className="stack" onSubmit={submit}>
        <label>
          Question
          <input
            value={question}
            required
            minLength={3}
            maxLength={1000}
            onChange={(e) => setQuestion(e.target.value)}
            placeholder="monthly revenue by country for paid orders"
          />
        </label>
        <label>
          Datasets and models it may read
          <input value={datasets} onChange={(e) => setDatasets(e.target.value)} placeholder="orders, customers (default: all)" />
        </label>
        <p className="muted" style={{ margin: 0 }}>
          The LLM sees the catalog's names, types and descriptions, never a value. Nothing is saved until a person
          saves the draft.
        </p>
        <div className="row">
          <button type="submit" className="primary" disabled={draft.isPending || question.trim().length < 3}>
            {draft.isPending ? "Drafting…" : "Draft model"}
          </button>
        </div>
      </form>
      {draft.error && <ErrorBox error={draft.error} title="No draft" />}
      {found && (
        <div className="stack" aria-label="Draft" role="region">
          <p style={{ margin: 0 }}>
            <span className={`badge ${TONE[found.status]}`}>{found.status}</span>{" "}
            {found.reason && <span>{found.reason}</span>}
            <span className="muted">
              {" "}
              · {found.source}
              {found.cached ? " (from the cache)" : ""}
            </span>
          </p>
          {found.name && (
            <p style={{ margin: 0 }}>
              <span className="mono">{found.name}</span>
              {found.explanation ? `: ${found.explanation}` : ""}
            </p>
          )}
          {found.sql && <pre aria-label="Draft SQL">{found.sql}</pre>}
          {found.status === "ready" && <Lineage draft={found} />}
          <SampleRows draft={found} />
          {found.status === "ready" &&
            (admin ? (
              <div className="row">
                <button type="button" className="primary" onClick={() => onUse(found)}>
                  Review and save
                </button>
              </div>
            ) : (
              <p className="muted">An admin saves it as a model.</p>
            ))}
        </div>
      )}
    </section>
  );
}
