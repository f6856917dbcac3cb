// Quarantined rows (GET .../quarantine, filtered by rule and run), with Release (POST
// .../quarantine/release: chosen rows, or all that match) and Replay (POST .../quality/replay:
// re-evaluate with the rules of now). Both are jobs, followed until they end (operators).
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useCallback, useId, useMemo, useState } from "react";
import { Link } from "react-router";
import { count } from "../api/format";
import { type Me } from "../auth/session";
import { type Column, DataTable } from "../components/DataTable";
import { ErrorBox, QueryState } from "../components/States";
import {
  type Job,
  type QuarantineEntry,
  type QuarantineFilters,
  refreshQuality,
  type ReleaseRequest,
  useQuality,
  useQuarantine,
  useRelease,
  useReplay,
  useRules,
} from "./api";
import { JobWatch } from "./shared";

/** Rows quarantined for a missing key cannot be released (quality refuses them). */
const STRUCTURAL = new Set(["key_not_null"]);

const entryKey = (e: QuarantineEntry) => `${e.run_id}\u0000${e.line}\u0000${e.rule}`;

function show(value: unknown): string {
  if (value === null || value === undefined) return "null";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function rowText(row: Record<string, unknown>): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(", ");
}

/** One request per (run, rule) for the chosen lines, so exactly those entries leave. */
export function releaseRequests(chosen: QuarantineEntry[], reason: string): ReleaseRequest[] {
  const groups = new Map<string, { run_id: string; rule: string; lines: Set<number> }>();
  for (const e of chosen) {
    const key = `${e.run_id}\u0000${e.rule}`;
    const group = groups.get(key) ?? { run_id: e.run_id, rule: e.rule, lines: new Set<number>() };
    group.lines.add(e.line);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({
    run_id: g.run_id,
    rule: g.rule,
    lines: [...g.lines].sort((a, b) => a - b),
    all: false,
    reason,
  }));
}

export function QuarantineSection({ dataset, me, operator }: { dataset: string; me: Me | null | undefined; operator: boolean }) {
  const client = useQueryClient();
  const id = useId();
  const [filters, setFilters] = useState<QuarantineFilters>({});
  const quarantine = useQuarantine(dataset, filters);
  const rules = useRules(dataset);
  const results = useQuality(dataset);
  const release = useRelease(dataset);
  const replay = useReplay(dataset);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [scope, setScope] = useState<"selected" | "matching">("selected");
  const [reason, setReason] = useState("");
  const [releaseJobs, setReleaseJobs] = useState<Job[]>([]);
  const [replayJob, setReplayJob] = useState<Job | null>(null);

  const ruleNames = useMemo(() => {
    const names = new Set<string>();
    for (const r of rules.data?.rules ?? []) names.add(r.name);
    // Rules that quarantined rows lately (some may be gone from the rules since).
    for (const e of results.data?.trend ?? [])
      for (const [name, n] of Object.entries(e.failed_by_rule ?? {})) if (n > 0) names.add(name);
    if (filters.rule) names.add(filters.rule);
    return [...names].sort();
  }, [rules.data, results.data, filters.rule]);
  const runIds = useMemo(() => {
    const ids = [...new Set((results.data?.trend ?? []).map((e) => e.run_id))];
    if (filters.run_id && !ids.includes(filters.run_id)) ids.push(filters.run_id);
    return ids;
  }, [results.data, filters.run_id]);

  const entries = useMemo(() => quarantine.data?.pages.flatMap((p) => p.rows) ?? [], [quarantine.data]);
  const total = quarantine.data?.pages[0]?.total ?? 0;
  const masked = quarantine.data?.pages[0]?.masked ?? false;
  const chosen = entries.filter((e) => selected.has(entryKey(e)));
  const selectable = entries.filter((e) => !STRUCTURAL.has(e.rule));
  const allShownSelected = selectable.length > 0 && selectable.every((e) => selected.has(entryKey(e)));

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = quarantine;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const setFilter = (key: keyof QuarantineFilters, value: string) => {
    setFilters((f) => ({ ...f, [key]: value || undefined }));
    setSelected(new Set());
  };
  const toggle = (e: QuarantineEntry) =>
    setSelected((s) => {
      const next = new Set(s);
      const key = entryKey(e);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const toggleAll = () =>
    setSelected(allShownSelected ? new Set() : new Set(selectable.map(entryKey)));

  const why = reason.trim() || `released in the web UI by ${me?.name ?? "someone"}`;
  const matchingRequest: ReleaseRequest =
    filters.rule || filters.run_id
      ? {
          ...(filters.run_id ? { run_id: filters.run_id } : {}),
          ...(filters.rule ? { rule: filters.rule } : {}),
          all: false,
          reason: why,
        }
      : { all: true, reason: why };
  const canRelease =
    operator &&
    !release.isPending &&
    (scope === "selected" ? chosen.length > 0 : total > 0) &&
    !(scope === "matching" && filters.rule && STRUCTURAL.has(filters.rule));

  const submitRelease = (e: FormEvent) => {
    e.preventDefault();
    if (!canRelease) return;
    const requests = scope === "selected" ? releaseRequests(chosen, why) : [matchingRequest];
    setReleaseJobs([]);
    release.mutate(requests, {
      onSuccess: (jobs) => {
        setReleaseJobs(jobs);
        setSelected(new Set());
      },
    });
  };

  const columns: Column<QuarantineEntry>[] = [
    {
      key: "pick",
      header: "Pick",
      width: "3.5rem",
      render: (e) => (
        <input
          type="checkbox"
          checked={selected.has(entryKey(e))}
          disabled={!operator || STRUCTURAL.has(e.rule)}
          title={STRUCTURAL.has(e.rule) ? "A row with no key cannot be released: fix the file and land it again" : undefined}
          aria-label={`Select line ${e.line} of run ${e.run_id} (${e.rule})`}
          onChange={() => toggle(e)}
        />
      ),
    },
    {
      key: "run",
      header: "Run",
      render: (e) => (
        <Link to={`/runs/${encodeURIComponent(e.run_id)}`} className="mono">
          {e.run_id.slice(0, 12)}
        </Link>
      ),
    },
    { key: "line", header: "Line", numeric: true, render: (e) => e.line },
    { key: "rule", header: "Rule", render: (e) => <span className="mono">{e.rule}</span> },
    { key: "column", header: "Column", render: (e) => e.column ?? "–" },
    { key: "value", header: "Value", render: (e) => <span className="mono">{show(e.value)}</span> },
    { key: "reason", header: "Reason", render: (e) => <span title={e.reason}>{e.reason}</span> },
    {
      key: "row",
      header: "Row",
      render: (e) => {
        const text = rowText(e.row);
        return (
          <span className="mono" title={text}>
            {text || "–"}
          </span>
        );
      },
    },
  ];

  return (
    <div className="stack">
      <form className="row" role="search" aria-label="Filter quarantined rows" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          Rule
          <select value={filters.rule ?? ""} onChange={(e) => setFilter("rule", e.target.value)}>
            <option value="">any rule</option>
            {ruleNames.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          Run
          <select value={filters.run_id ?? ""} onChange={(e) => setFilter("run_id", e.target.value)}>
            <option value="">any run</option>
            {runIds.map((r) => (
              <option key={r} value={r}>
                {r.slice(0, 20)}
              </option>
            ))}
          </select>
        </label>
        {masked && <span className="badge pii">PII values shown as shapes</span>}
      </form>

      <QueryState
        query={quarantine}
        what="Loading quarantined rows"
        isEmpty={(d) => d.pages[0].total === 0}
        empty={
          filters.rule || filters.run_id
            ? "No quarantined rows match this filter."
            : "Nothing in quarantine: every row of every batch passed the quarantining rules."
        }
      >
        {() => (
          <>
            {operator && (
              <label className="inline">
                <input type="checkbox" checked={allShownSelected} onChange={toggleAll} disabled={selectable.length === 0} />
                Select all shown ({count(selectable.length)})
              </label>
            )}
            <DataTable
              rows={entries}
              columns={columns}
              rowKey={entryKey}
              label={`Quarantined rows of ${dataset}`}
              onEndReached={more}
              maxHeight={420}
              footer={
                <p className="muted" style={{ padding: "0 0.6rem" }}>
                  {count(entries.length)} of {count(total)} quarantined entries shown
                  {hasNextPage ? " (scroll for more)" : ""}
                  {isFetchingNextPage ? " · loading more…" : ""}
                </p>
              }
            />
          </>
        )}
      </QueryState>

      {operator ? (
        <div className="columns">
          <form className="panel stack" onSubmit={submitRelease} aria-labelledby={`${id}-release`}>
            <h3 id={`${id}-release`} style={{ marginTop: 0 }}>
              Release into the valid rows
            </h3>
            <fieldset className="row">
              <legend>Which rows</legend>
              <label className="inline">
                <input type="radio" name={`${id}-scope`} checked={scope === "selected"} onChange={() => setScope("selected")} />
                The rows selected ({count(chosen.length)})
              </label>
              <label className="inline">
                <input type="radio" name={`${id}-scope`} checked={scope === "matching"} onChange={() => setScope("matching")} />
                All {count(total)} matching {filters.rule || filters.run_id ? "this filter" : "(the whole quarantine)"}
              </label>
            </fieldset>
            <label>
              Reason (kept with the release)
              <input
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                maxLength={2000}
                placeholder={`released in the web UI by ${me?.name ?? "you"}`}
              />
            </label>
            <p className="muted" style={{ margin: 0 }}>
              The batches are re-evaluated and Gold is rebuilt; a row failing another rule too stays
              quarantined.
            </p>
            <div className="row">
              <button type="submit" className="primary" disabled={!canRelease}>
                {release.isPending ? "Releasing…" : "Release"}
              </button>
            </div>
            {release.error && <ErrorBox error={release.error} title="The rows were not released" />}
            {releaseJobs.map((job) => (
              <JobWatch key={job.id} job={job} what="Release" onDone={() => refreshQuality(client, dataset)} />
            ))}
          </form>
          <div className="panel stack" role="group" aria-labelledby={`${id}-replay`}>
            <h3 id={`${id}-replay`} style={{ marginTop: 0 }}>
              Replay with the current rules
            </h3>
            <p className="muted" style={{ margin: 0 }}>
              Re-evaluates {filters.run_id ? <>run <span className="mono">{filters.run_id.slice(0, 16)}</span></> : "every batch of the dataset"}{" "}
              with the rules of now: each batch gets a new verdict and quarantine, and Gold follows.
            </p>
            <div className="row">
              <button
                type="button"
                disabled={replay.isPending}
                onClick={() => {
                  setReplayJob(null);
                  replay.mutate(filters.run_id ? [filters.run_id] : null, { onSuccess: setReplayJob });
                }}
              >
                {replay.isPending ? "Replaying…" : "Replay"}
              </button>
            </div>
            {replay.error && <ErrorBox error={replay.error} title="The replay did not start" />}
            {replayJob && (
              <JobWatch key={replayJob.id} job={replayJob} what="Replay" onDone={() => refreshQuality(client, dataset)} />
            )}
          </div>
        </div>
      ) : (
        <p className="muted">Releasing rows and replaying batches is for operators and admins.</p>
      )}
    </div>
  );
}
