// One whole-pipeline proposal: each part with why it is proposed and its decision, what the
// LLM proposed that could not be used, the dry run on the sample (Silver, quarantine, the
// starter model), and, for admins, checkboxes to accept the whole or some parts.
import { useState } from "react";
import { useParams } from "react-router";
import { can, useMe } from "../auth/session";
import { count } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { ErrorBox, QueryState } from "../components/States";
import { Status } from "../components/Status";
import { type Accepted, PARTS, type Part, type Proposal, useAcceptProposal, useProposal } from "./api";

type Dict = Record<string, unknown>;
const TITLES: Record<Part, string> = {
  key: "Key",
  source: "Source (incremental extract)",
  silver: "Silver spec",
  rules: "Quality rules",
  model: "Starter Gold model",
  schedule: "Schedule",
};

function PartValue({ part, value }: { part: Part; value: unknown }) {
  const v = (value ?? {}) as Dict;
  if (part === "key") return <p className="mono">{(value as string[]).join(", ") || "none"}</p>;
  if (part === "source")
    return (
      <p>
        {String(v.table)} on {String(v.connection)}: {String(v.mode)}
        {v.cursor ? ` by ${String(v.cursor)}, looking back ${Number(v.lookback) / 60} min` : ""}
      </p>
    );
  if (part === "rules")
    return (
      <ul>
        {(value as Dict[]).map((r) => (
          <li key={String(r.name)}>
            <span className="mono">{String(r.name)}</span> ({String(r.action)})
          </li>
        ))}
      </ul>
    );
  if (part === "model")
    return (
      <>
        <p className="mono">{String(v.name)}</p>
        <pre className="mono">{String(v.sql)}</pre>
      </>
    );
  return <pre className="mono">{JSON.stringify(value, null, 2)}</pre>;
}

function rowsOf(preview: unknown): { rows: Dict[]; columns: Column<Dict>[] } {
  const rows = Array.isArray(preview) ? (preview as Dict[]) : [];
  const names = rows.length ? Object.keys(rows[0]) : [];
  return {
    rows,
    columns: names.map((n) => ({ key: n, header: n, render: (r: Dict) => String(r[n] ?? "–") })),
  };
}

function DryRun({ proposal }: { proposal: Proposal }) {
  const tried = (proposal.dry_run ?? {}) as Dict;
  const silver = (tried.silver ?? {}) as Dict;
  const quality = (tried.quality ?? {}) as Dict;
  const model = (tried.model ?? null) as Dict | null;
  const checks = Array.isArray(quality.checks) ? (quality.checks as Dict[]) : [];
  const preview = rowsOf(silver.preview);
  const gold = rowsOf(model?.preview);
  return (
    <section className="stack" aria-label="Dry run on the sample">
      <h2>Dry run on the sample</h2>
      <p>
        {count(Number(silver.bronze ?? 0))} sample rows → {count(Number(silver.silver ?? 0))} in
        Silver ({count(Number(silver.duplicates ?? 0))} duplicates);{" "}
        {count(Number(quality.quarantined ?? 0))} would be quarantined,{" "}
        {count(Number(quality.valid ?? 0))} valid.
      </p>
      <DataTable
        label="Silver preview"
        rows={preview.rows}
        columns={preview.columns}
        rowKey={(_, i) => String(i)}
        maxHeight={300}
      />
      <DataTable
        label="Rules on the sample"
        rows={checks}
        rowKey={(c) => String(c.name)}
        maxHeight={300}
        columns={[
          { key: "name", header: "Rule", render: (c) => <span className="mono">{String(c.name)}</span> },
          { key: "action", header: "Action", render: (c) => String(c.action ?? "") },
          { key: "failed", header: "Failing rows", numeric: true, render: (c) => count(Number(c.failed_rows ?? 0)) },
          { key: "status", header: "Would be", render: (c) => <Status value={String(c.status)} /> },
        ]}
      />
      {model && (
        <>
          <h3>Starter model: {count(Number(model.rows ?? 0))} rows</h3>
          <DataTable
            label="Model preview"
            rows={gold.rows}
            columns={gold.columns}
            rowKey={(_, i) => String(i)}
            maxHeight={300}
          />
        </>
      )}
    </section>
  );
}

function AcceptResult({ result }: { result: Accepted }) {
  return (
    <div className="panel" role="status">
      <p>Accepted: {result.accepted.join(", ") || "nothing"}.</p>
      {Object.entries(result.refused).map(([part, reason]) => (
        <p key={part}>
          Refused {part}: {reason}
        </p>
      ))}
    </div>
  );
}

function ProposalView({ proposal }: { proposal: Proposal }) {
  const me = useMe().data;
  const admin = !!me && can(me, "admin");
  const parts = (proposal.parts ?? {}) as Record<string, unknown>;
  const offered = PARTS.filter((p) => parts[p]);
  const decisions = proposal.decisions as Record<string, Dict>;
  const open = (p: Part) => decisions[p]?.status !== "accepted";
  const [chosen, setChosen] = useState<Part[]>(offered.filter(open));
  const accept = useAcceptProposal(proposal.id);
  const errors = (((proposal.dry_run ?? {}) as Dict).errors ?? {}) as Record<string, string>;
  const toggle = (p: Part) =>
    setChosen((now) => (now.includes(p) ? now.filter((x) => x !== p) : [...now, p]));
  return (
    <section className="stack">
      <h1>Proposal for {proposal.dataset}</h1>
      <p>
        <Status value={proposal.status} /> from{" "}
        {proposal.origin.kind === "table"
          ? `table ${String(proposal.origin.table)} of ${String(proposal.origin.connection)}`
          : `file ${String(proposal.origin.filename)}`}
        , by {proposal.source}
      </p>
      {proposal.error && <ErrorBox error={new Error(proposal.error)} title="The dry run failed" />}
      {(proposal.refused ?? []).length > 0 && (
        <div className="panel">
          <h2>Refused from the LLM's answer</h2>
          <ul>
            {(proposal.refused ?? []).map((r, i) => (
              <li key={i}>
                {String(r.part)}: {String(r.reason)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {offered.map((p) => (
        <fieldset key={p} className="panel stack">
          <legend>{TITLES[p]}</legend>
          {admin && open(p) && (
            <label>
              <input type="checkbox" checked={chosen.includes(p)} onChange={() => toggle(p)} />{" "}
              Accept the {p} part
            </label>
          )}
          {decisions[p] && (
            <p>
              <Status value={String(decisions[p].status)} />{" "}
              {decisions[p].reason ? String(decisions[p].reason) : ""}
            </p>
          )}
          <p className="muted">{proposal.reasons?.[p]}</p>
          {errors[p] && <p role="alert">Cannot be used: {errors[p]}</p>}
          <PartValue part={p} value={parts[p]} />
        </fieldset>
      ))}
      {admin && offered.some(open) && (
        <div className="row">
          <button
            className="primary"
            disabled={!chosen.length || accept.isPending}
            onClick={() => accept.mutate(chosen)}
          >
            Accept selected parts
          </button>
        </div>
      )}
      {accept.error ? <ErrorBox error={accept.error} title="Not accepted" /> : null}
      {accept.data && <AcceptResult result={accept.data} />}
      {proposal.dry_run && <DryRun proposal={proposal} />}
    </section>
  );
}

export default function ProposalPage() {
  const { id = "" } = useParams();
  const query = useProposal(id);
  return (
    <QueryState query={query} what="Loading the proposal">
      {(p) => <ProposalView key={p.id + p.updated_at} proposal={p} />}
    </QueryState>
  );
}
