// The dataset's rules: the list (add one, delete one) and the whole set as YAML (edit, save).
// GET/POST /rules, DELETE /rules/{rule}, GET/PUT /rules.yaml; changing rules is for admins.
import { type FormEvent, useId, useState } from "react";
import { type Column, DataTable } from "../components/DataTable";
import { Empty, ErrorBox, Loading, QueryState } from "../components/States";
import {
  type Rule,
  rulesYamlUrl,
  useAddRule,
  useDeleteRule,
  useRules,
  useRulesYaml,
  useSaveRulesYaml,
} from "./api";

const RULE_TYPES = [
  "not_null",
  "unique",
  "accepted_values",
  "range",
  "regex",
  "length",
  "format",
  "freshness",
  "row_count",
  "referential",
  "sql",
] as const;
type RuleType = (typeof RULE_TYPES)[number];
const BATCH_RULES = new Set<RuleType>(["freshness", "row_count"]);

const FORMATS = [
  "email",
  "url",
  "uuid",
  "ipv4",
  "ipv6",
  "phone",
  "country_code",
  "currency_code",
  "postal_code_us",
  "integer",
  "number",
  "date",
  "datetime",
];

interface Field {
  key: string;
  label: string;
  kind: "text" | "number" | "bound" | "list" | "format";
  hint?: string;
  required?: boolean;
}

const COLUMN: Field = { key: "column", label: "Column", kind: "text", required: true };
// The settings each rule type reads (docs/quality.md; libs/common rules.py `_USED`).
const FIELDS: Record<RuleType, Field[]> = {
  not_null: [COLUMN],
  unique: [
    { ...COLUMN, required: false, hint: "or several columns below" },
    { key: "columns", label: "Columns (together)", kind: "list", hint: "comma-separated" },
  ],
  accepted_values: [
    COLUMN,
    { key: "values", label: "Accepted values", kind: "list", hint: "comma-separated", required: true },
  ],
  range: [
    COLUMN,
    { key: "min", label: "Minimum", kind: "bound", hint: "a number or an ISO date" },
    { key: "max", label: "Maximum", kind: "bound", hint: "a number or an ISO date" },
  ],
  regex: [COLUMN, { key: "pattern", label: "Pattern", kind: "text", hint: "matched in full", required: true }],
  length: [
    COLUMN,
    { key: "min", label: "Shortest", kind: "number" },
    { key: "max", label: "Longest", kind: "number" },
  ],
  format: [
    COLUMN,
    { key: "format", label: "Format", kind: "format", required: true },
    { key: "date_format", label: "Date layout", kind: "text", hint: "strftime, e.g. %d/%m/%Y" },
  ],
  freshness: [COLUMN, { key: "max_age", label: "Maximum age", kind: "text", hint: "e.g. 24h, 7d", required: true }],
  row_count: [
    { key: "min", label: "Fewest rows", kind: "number" },
    { key: "max", label: "Most rows", kind: "number" },
    { key: "max_change_pct", label: "Largest change vs previous batch (%)", kind: "number" },
  ],
  referential: [
    COLUMN,
    { key: "to", label: "Must exist in", kind: "text", hint: "dataset.column", required: true },
  ],
  sql: [
    { key: "expression", label: "Expression a valid row satisfies", kind: "text", hint: "DuckDB, e.g. amount >= 0", required: true },
    { ...COLUMN, required: false, hint: "optional, for reports" },
  ],
};

/** A list item as JSON: a number when it reads as one (no leading zeros: "02134" stays text). */
function scalar(text: string): string | number {
  return /^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) ? Number(text) : text;
}

function ruleBody(type: RuleType, values: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { type };
  for (const field of [
    ...FIELDS[type],
    { key: "name", kind: "text" } as Field,
    { key: "action", kind: "text" } as Field,
    { key: "warn_if", kind: "text" } as Field,
    { key: "fail_if", kind: "text" } as Field,
    { key: "description", kind: "text" } as Field,
  ]) {
    const text = (values[field.key] ?? "").trim();
    if (!text) continue;
    if (field.kind === "number") body[field.key] = Number(text);
    else if (field.kind === "bound") body[field.key] = scalar(text);
    else if (field.kind === "list")
      body[field.key] = text
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean)
        .map((v) => (field.key === "values" ? scalar(v) : v));
    else body[field.key] = text;
  }
  return body;
}

const SHOWN = new Set(["name", "type", "column", "columns", "action", "description"]);

function settings(rule: Rule): string {
  return Object.entries(rule)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

function AddRule({ dataset }: { dataset: string }) {
  const add = useAddRule(dataset);
  const [type, setType] = useState<RuleType>("not_null");
  const [values, setValues] = useState<Record<string, string>>({});
  const [added, setAdded] = useState<string | null>(null);
  const id = useId();
  const set = (key: string, value: string) => setValues((v) => ({ ...v, [key]: value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAdded(null);
    add.mutate(ruleBody(type, values), {
      onSuccess: (saved) => {
        const names = new Set(saved.rules.map((r) => String(r.name)));
        setAdded(values.name?.trim() && names.has(values.name.trim()) ? values.name.trim() : type);
        setValues({});
      },
    });
  };
  const batch = BATCH_RULES.has(type);
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} style={{ marginTop: 0 }}>
        Add a rule
      </h3>
      <div className="row">
        <label>
          Type
          <select
            value={type}
            onChange={(e) => {
              setType(e.target.value as RuleType);
              add.reset();
            }}
          >
            {RULE_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          <span>
            Name <span className="muted">(optional)</span>
          </span>
          <input value={values.name ?? ""} onChange={(e) => set("name", e.target.value)} placeholder="from type and column" />
        </label>
      </div>
      <div className="row">
        {FIELDS[type].map((f) => (
          <label key={f.key}>
            {f.label}
            {f.kind === "format" ? (
              <select value={values[f.key] ?? ""} required onChange={(e) => set(f.key, e.target.value)}>
                <option value="">choose…</option>
                {FORMATS.map((name) => (
                  <option key={name}>{name}</option>
                ))}
              </select>
            ) : (
              <input
                value={values[f.key] ?? ""}
                required={f.required}
                inputMode={f.kind === "number" ? "decimal" : undefined}
                placeholder={f.hint}
                onChange={(e) => set(f.key, e.target.value)}
              />
            )}
          </label>
        ))}
      </div>
      <div className="row">
        <label>
          Action
          <select value={values.action ?? ""} onChange={(e) => set("action", e.target.value)}>
            <option value="">default ({batch ? "fail" : "quarantine"})</option>
            <option value="warn">warn: only record</option>
            {!batch && <option value="quarantine">quarantine the row</option>}
            <option value="fail">fail the batch</option>
          </select>
        </label>
        {!batch && (
          <>
            <label>
              Warn if
              <input value={values.warn_if ?? ""} onChange={(e) => set("warn_if", e.target.value)} placeholder="e.g. > 1%" />
            </label>
            <label>
              Fail if
              <input value={values.fail_if ?? ""} onChange={(e) => set("fail_if", e.target.value)} placeholder="e.g. > 100" />
            </label>
          </>
        )}
      </div>
      <div className="row">
        <button type="submit" className="primary" disabled={add.isPending}>
          {add.isPending ? "Adding…" : "Add rule"}
        </button>
        {added && (
          <span role="status" className="muted">
            Added; it applies to the next batch.
          </span>
        )}
      </div>
      {add.error && <ErrorBox error={add.error} title="The rule was not added" />}
    </form>
  );
}

function RulesYaml({ dataset, admin }: { dataset: string; admin: boolean }) {
  const yaml = useRulesYaml(dataset);
  const save = useSaveRulesYaml(dataset);
  const [draft, setDraft] = useState<string | null>(null);
  const [base, setBase] = useState<string | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const id = useId();
  const text = draft ?? yaml.data ?? "";
  const changedUnder = draft !== null && base !== null && yaml.data !== undefined && yaml.data !== base;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    save.mutate(text, {
      onSuccess: (result) => {
        setDraft(null);
        setBase(null);
        setSaved(result.rules.length);
      },
    });
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <div className="spread">
        <h3 id={`${id}-h`} style={{ margin: 0 }}>
          Rules as YAML
        </h3>
        <a href={rulesYamlUrl(dataset)} download={`${dataset}.rules.yaml`}>
          Download {dataset}.rules.yaml
        </a>
      </div>
      {yaml.isPending ? (
        <Loading what="Loading the rules file" />
      ) : yaml.error ? (
        <ErrorBox error={yaml.error} title="The rules file could not be read" />
      ) : (
        <>
          <p id={`${id}-hint`} className="muted" style={{ margin: 0 }}>
            {admin
              ? "Edit the whole rule set; saving replaces every rule (the gateway checks it first)."
              : "The rule set as a file (changing rules is for admins)."}
          </p>
          <textarea
            aria-label="Rules as YAML"
            aria-describedby={`${id}-hint`}
            value={text}
            readOnly={!admin}
            rows={Math.min(28, Math.max(10, text.split("\n").length + 1))}
            spellCheck={false}
            wrap="off"
            onChange={(e) => {
              if (draft === null) setBase(yaml.data ?? "");
              setDraft(e.target.value);
              setSaved(null);
              if (save.error) save.reset();
            }}
          />
          {changedUnder && (
            <p className="state error" role="alert" style={{ margin: 0 }}>
              The saved rules changed while you were editing; saving replaces them with this text.
            </p>
          )}
          {admin && (
            <div className="row">
              <button type="submit" className="primary" disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save rules"}
              </button>
              {draft !== null && (
                <button
                  type="button"
                  onClick={() => {
                    setDraft(null);
                    setBase(null);
                    save.reset();
                  }}
                >
                  Discard changes
                </button>
              )}
              {saved !== null && (
                <span role="status" className="muted">
                  Saved {saved} rule(s). They apply to the next batch; replay (Quarantine tab) to
                  re-check batches already landed.
                </span>
              )}
            </div>
          )}
          {save.error && <ErrorBox error={save.error} title="The rules were not saved" />}
        </>
      )}
    </form>
  );
}

/** Delete in two steps (no browser dialog): Delete, then Confirm or Cancel. */
function DeleteRule({ name, busy, onDelete }: { name: string; busy: boolean; onDelete: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className="danger" aria-label={`Delete rule ${name}`} onClick={() => setAsking(true)}>
        Delete
      </button>
    );
  return (
    <span className="row" style={{ gap: "0.3rem", flexWrap: "nowrap" }}>
      <button
        type="button"
        className="danger"
        aria-label={`Confirm deleting rule ${name}`}
        disabled={busy}
        autoFocus
        onClick={() => {
          setAsking(false);
          onDelete();
        }}
      >
        Confirm
      </button>
      <button type="button" aria-label={`Keep rule ${name}`} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function RulesSection({ dataset, admin }: { dataset: string; admin: boolean }) {
  const rules = useRules(dataset);
  const remove = useDeleteRule(dataset);
  const columns: Column<Rule>[] = [
    { key: "name", header: "Name", render: (r) => <span className="mono">{r.name}</span> },
    { key: "type", header: "Type", render: (r) => r.type },
    { key: "column", header: "Column", render: (r) => r.column ?? r.columns?.join(", ") ?? "–" },
    { key: "settings", header: "Settings", render: (r) => <span title={settings(r)}>{settings(r) || "–"}</span> },
    {
      key: "action",
      header: "Action",
      render: (r) => r.action ?? <span className="muted">default</span>,
    },
  ];
  if (admin)
    columns.push({
      key: "delete",
      header: "",
      width: "12rem",
      render: (r) => <DeleteRule name={r.name} busy={remove.isPending} onDelete={() => remove.mutate(r.name)} />,
    });
  return (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        Rules check each new batch of Silver rows. A failing row is recorded (warn), set aside
        (quarantine) or fails the whole batch (fail).
      </p>
      {remove.error && <ErrorBox error={remove.error} title="The rule was not deleted" />}
      <QueryState
        query={rules}
        what="Loading the rules"
        isEmpty={(d) => d.rules.length === 0}
        empty={
          <>
            No rules yet: every row passes.{" "}
            {admin ? "Add one below, write them as YAML, or accept an AI suggestion." : ""}
          </>
        }
      >
        {(data) => (
          <DataTable
            rows={data.rules}
            columns={columns}
            rowKey={(r) => r.name}
            label={`Rules of ${dataset}`}
            maxHeight={360}
          />
        )}
      </QueryState>
      <div className="columns">
        {admin ? <AddRule dataset={dataset} /> : <Empty>Adding and deleting rules is for admins.</Empty>}
        <RulesYaml dataset={dataset} admin={admin} />
      </div>
    </div>
  );
}
