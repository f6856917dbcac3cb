// The audit log: every change asked through the API, newest first, filtered by actor, action,
// target and time, paged as it scrolls; one entry's before / after / detail on demand.
// Calls GET /api/v1/audit.
import { type FormEvent, useCallback, useState } from "react";
import { count, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { QueryState } from "../components/States";
import { type AuditEntry, type AuditFilters, useAudit } from "./api";

interface Draft {
  actor: string;
  action: string;
  target: string;
  since: string;
  until: string;
}

const BLANK: Draft = { actor: "", action: "", target: "", since: "", until: "" };

function toFilters(d: Draft): AuditFilters {
  const f: AuditFilters = {};
  if (d.actor.trim()) f.actor = d.actor.trim();
  if (d.action.trim()) f.action = d.action.trim();
  if (d.target.trim()) f.target = d.target.trim();
  if (d.since) f.since = new Date(d.since).toISOString();
  if (d.until) f.until = new Date(d.until).toISOString();
  return f;
}

function statusTone(status: number): string {
  return status >= 400 ? "bad" : "ok";
}

function Entry({ e, onClose }: { e: AuditEntry; onClose: () => void }) {
  return (
    <section className="panel stack" aria-labelledby="entry-title">
      <div className="spread">
        <h3 id="entry-title" style={{ margin: 0 }}>
          Entry {e.id}: {e.action}
        </h3>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="facts">
        <dt>When</dt>
        <dd>{when(e.at)}</dd>
        <dt>Who</dt>
        <dd>
          {e.actor}
          {e.role ? ` (${e.role})` : ""}
        </dd>
        <dt>Request</dt>
        <dd className="mono">
          {e.method} {e.path} → {e.status}
        </dd>
        <dt>Target</dt>
        <dd>{e.target ?? "–"}</dd>
        <dt>From</dt>
        <dd>
          {e.source_ip ?? "–"}
          {e.user_agent ? ` · ${e.user_agent}` : ""}
        </dd>
      </dl>
      <div className="columns">
        <div>
          <h4>Before</h4>
          <pre>{e.before == null ? "–" : JSON.stringify(e.before, null, 2)}</pre>
        </div>
        <div>
          <h4>After</h4>
          <pre>{e.after == null ? "–" : JSON.stringify(e.after, null, 2)}</pre>
        </div>
      </div>
      {e.detail && Object.keys(e.detail).length > 0 && (
        <>
          <h4>Detail</h4>
          <pre>{JSON.stringify(e.detail, null, 2)}</pre>
        </>
      )}
    </section>
  );
}

export function AuditTab() {
  const [draft, setDraft] = useState<Draft>(BLANK);
  const [filters, setFilters] = useState<AuditFilters>({});
  const [open, setOpen] = useState<AuditEntry | null>(null);
  const audit = useAudit(filters);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = audit;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters(toFilters(draft));
  };
  const filtered = Object.keys(filters).length > 0;

  const columns: Column<AuditEntry>[] = [
    { key: "at", header: "When", width: "12rem", render: (e) => when(e.at) },
    { key: "actor", header: "Actor", render: (e) => <span className="mono">{e.actor}</span> },
    { key: "role", header: "Role", render: (e) => e.role ?? "–" },
    { key: "action", header: "Action", render: (e) => e.action },
    { key: "target", header: "Target", render: (e) => e.target ?? "–" },
    {
      key: "request",
      header: "Request",
      render: (e) => (
        <span className="mono" title={`${e.method} ${e.path}`}>
          {e.method} {e.path}
        </span>
      ),
    },
    {
      key: "status",
      header: "HTTP",
      numeric: true,
      render: (e) => <span className={`badge ${statusTone(e.status)}`}>{e.status}</span>,
    },
    {
      key: "show",
      header: "Details",
      width: "6rem",
      render: (e) => (
        <button type="button" aria-label={`Show audit entry ${e.id}`} onClick={() => setOpen(e)}>
          Show
        </button>
      ),
    },
  ];

  return (
    <div className="stack">
      <form className="row" role="search" aria-label="Filter the audit log" onSubmit={submit} style={{ alignItems: "flex-end" }}>
        <label>
          Actor
          <input value={draft.actor} onChange={(e) => set({ actor: e.target.value })} placeholder="user:alice or key:…" />
        </label>
        <label>
          Action
          <input value={draft.action} onChange={(e) => set({ action: e.target.value })} placeholder="put_rules" />
        </label>
        <label>
          Target
          <input value={draft.target} onChange={(e) => set({ target: e.target.value })} placeholder="dataset, user, key" />
        </label>
        <label>
          Since
          <input type="datetime-local" value={draft.since} onChange={(e) => set({ since: e.target.value })} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={draft.until} onChange={(e) => set({ until: e.target.value })} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button
          type="button"
          disabled={!filtered && draft === BLANK}
          onClick={() => {
            setDraft(BLANK);
            setFilters({});
          }}
        >
          Clear
        </button>
      </form>
      {open && <Entry e={open} onClose={() => setOpen(null)} />}
      <QueryState
        query={audit}
        what="Loading the audit log"
        isEmpty={(d) => d.pages[0].entries.length === 0}
        empty={filtered ? "No entries match these filters." : "Nothing changed through the API yet."}
      >
        {(data) => {
          const rows = data.pages.flatMap((p) => p.entries);
          return (
            <DataTable
              rows={rows}
              columns={columns}
              rowKey={(e) => String(e.id)}
              label="Audit log"
              rowHeight={40}
              onEndReached={more}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(rows.length)} entries shown, newest first{hasNextPage ? " (scroll for more)" : ""}
                  {isFetchingNextPage ? " · loading more…" : ""}
                </p>
              }
            />
          );
        }}
      </QueryState>
    </div>
  );
}
