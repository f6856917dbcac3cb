// Small pieces the quality panel and the models pages share: a long operation's job followed
// until it ends (GET /api/v1/jobs/{id}), and a verdict badge that knows "warned".
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { count, duration } from "../api/format";
import { Status } from "../components/Status";

type Job = Schemas["JobPublic"];

const finished = (job: Job) => job.status === "succeeded" || job.status === "failed";

/** A verdict or check status as a badge ("warned" is a warning, not an unknown word). */
export function Verdict({ value }: { value: string | null | undefined }) {
  if (value && value.toLowerCase() === "warned") return <span className="badge warn">warned</span>;
  return <Status value={value} />;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => !!v && typeof v === "object" && !Array.isArray(v);

/** One sentence about a finished job's result, by kind (the raw result is shown too). */
export function jobSummary(job: Job): string | null {
  const r = job.result;
  if (!isDict(r)) return null;
  const runs = Array.isArray(r.runs) ? (r.runs as Dict[]) : [];
  if (job.kind === "release") {
    const kept = Number(r.not_released ?? 0);
    return (
      `${count(Number(r.released_rows ?? 0))} row(s) left quarantine ` +
      `(${count(Number(r.released_entries ?? 0))} quarantine entries released` +
      (kept ? `; ${count(kept)} kept back: a row with no key cannot be released` : "") +
      `); ${runs.length} batch(es) re-evaluated.`
    );
  }
  if (job.kind === "replay") {
    const verdicts = runs.map((b) => `${String(b.run_id).slice(0, 12)}: ${String(b.verdict)}`);
    return `${runs.length} batch(es) re-evaluated with the rules of now${
      verdicts.length ? ` (${verdicts.join(", ")})` : ""
    }.`;
  }
  if (job.kind === "analyze") {
    const found = Array.isArray(r.suggestions) ? r.suggestions.length : 0;
    return `Analysed; ${found} suggestion(s) for this dataset.`;
  }
  if (job.kind === "build") {
    const built = Array.isArray(r.built) ? (r.built as Dict[]) : [];
    const failed = Array.isArray(r.failed) ? (r.failed as Dict[]) : [];
    const parts = [
      built.length
        ? `built ${built.map((m) => `${String(m.name)} (${count(Number(m.rows ?? 0))} rows)`).join(", ")}`
        : "nothing built",
    ];
    if (failed.length)
      parts.push(`failed ${failed.map((m) => `${String(m.name)}: ${String(m.error)}`).join("; ")}`);
    if (typeof r.note === "string") parts.push(r.note);
    return `${parts.join("; ")}.`;
  }
  return null;
}

/** Follow a job (202 answer) until it has finished; `onDone` once it has. */
export function JobWatch({
  job,
  what,
  onDone,
}: {
  job: Job;
  what: string;
  onDone?: (job: Job) => void;
}) {
  const query = useQuery({
    queryKey: ["job", job.id],
    queryFn: () =>
      unwrap(api.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: job.id } } })),
    initialData: job,
    enabled: !finished(job),
    refetchInterval: (q) => (q.state.data && finished(q.state.data) ? false : 1000),
  });
  const current = query.data ?? job;
  const told = useRef(false);
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    if (finished(current) && !told.current) {
      told.current = true;
      done.current?.(current);
    }
  }, [current]);
  const summary = finished(current) ? jobSummary(current) : null;
  return (
    <div
      className={`state ${current.status === "failed" ? "error" : "empty"}`}
      role="status"
      aria-live="polite"
    >
      <div className="row">
        <strong>{what}</strong>
        <Status value={current.status} />
        <span className="muted mono">job {current.id.slice(0, 12)}</span>
        {current.finished_at && (
          <span className="muted">took {duration(current.created_at, current.finished_at)}</span>
        )}
      </div>
      {!finished(current) && <div>Working; this updates by itself.</div>}
      {current.error && <div>{current.error}</div>}
      {summary && <div>{summary}</div>}
      {query.error != null && <div>Could not follow the job: {String(query.error)}</div>}
      {current.result != null && (
        <details>
          <summary>Full result</summary>
          <pre>{JSON.stringify(current.result, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}
