// Whole-pipeline proposals: propose one for a file sample or a source table (operators), follow
// the job, then open it; the proposals so far, newest first.
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { can, useMe } from "../auth/session";
import { ErrorBox, QueryState } from "../components/States";
import { Status } from "../components/Status";
import { JobWatch } from "../quality/shared";
import { type Job, proposeFile, useProposals, useProposeTable } from "./api";

function Watch({ job }: { job: Job }) {
  const navigate = useNavigate();
  return (
    <JobWatch
      job={job}
      what="Proposal"
      onDone={(done) => {
        const result = done.result as { id?: string } | null;
        if (done.status === "succeeded" && result?.id) navigate(`/proposals/${result.id}`);
      }}
    />
  );
}

function ProposeForms() {
  const [file, setFile] = useState<File | null>(null);
  const [dataset, setDataset] = useState("");
  const [connection, setConnection] = useState("");
  const [table, setTable] = useState("");
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const forTable = useProposeTable();
  const submitFile = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    try {
      setJob(await proposeFile(file, dataset.trim()));
    } catch (err) {
      setError(err);
    }
  };
  const submitTable = (e: FormEvent) => {
    e.preventDefault();
    forTable.mutate(
      { connection: connection.trim(), table: table.trim(), dataset: dataset.trim() || undefined },
      { onSuccess: setJob },
    );
  };
  return (
    <div className="columns">
      <form className="panel stack" onSubmit={submitFile} aria-label="Propose for a file">
        <h2>For a file</h2>
        <input
          type="file"
          aria-label="Sample file"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
        <label>
          Dataset name
          <input value={dataset} onChange={(e) => setDataset(e.target.value)} placeholder="default: the file's or table's name" />
        </label>
        <button type="submit" className="primary" disabled={!file}>
          Propose for the file
        </button>
      </form>
      <form className="panel stack" onSubmit={submitTable} aria-label="Propose for a table">
        <h2>For a table</h2>
        <label>
          Connection
          <input value={connection} onChange={(e) => setConnection(e.target.value)} />
        </label>
        <label>
          Table
          <input value={table} onChange={(e) => setTable(e.target.value)} placeholder="schema.table" />
        </label>
        <button type="submit" className="primary" disabled={!connection || !table || forTable.isPending}>
          Propose for the table
        </button>
      </form>
      {error ? <ErrorBox error={error} title="Not proposed" /> : null}
      {forTable.error ? <ErrorBox error={forTable.error} title="Not proposed" /> : null}
      {job && <Watch job={job} />}
    </div>
  );
}

export default function ProposalsPage() {
  const me = useMe().data;
  const query = useProposals();
  return (
    <section className="stack">
      <h1>Pipeline proposals</h1>
      <p className="muted">
        One proposal for a new file or table: key, cursor, Silver spec, rules, a starter model and
        a schedule, tried on a sample. Nothing changes until an admin accepts it.
      </p>
      {can(me, "operator") && <ProposeForms />}
      <QueryState
        query={query}
        what="Loading proposals"
        isEmpty={(d) => d.proposals.length === 0}
        empty="No proposals yet."
      >
        {(d) => (
          <ul aria-label="Proposals">
            {d.proposals.map((p) => (
              <li key={p.id}>
                <Link to={`/proposals/${p.id}`}>{p.dataset}</Link> <Status value={p.status} />{" "}
                <span className="muted">{p.source}</span>
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </section>
  );
}
