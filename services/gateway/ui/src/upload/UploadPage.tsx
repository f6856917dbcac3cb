// Upload: drop a file (or choose one), see the bytes go up, then the run's live progress.
import { type DragEvent, type FormEvent, useRef, useState } from "react";
import { Link } from "react-router";
import { bytes, count } from "../api/format";
import { Status } from "../components/Status";
import { ErrorBox } from "../components/States";
import { useRun } from "../runs/api";
import { type Accepted, upload } from "./api";

function LiveRun({ accepted }: { accepted: Accepted }) {
  const run = useRun(accepted.run_id);
  const r = run.data;
  return (
    <div className="panel stack" aria-live="polite">
      <div className="spread">
        <strong>
          {accepted.filename} → dataset{" "}
          <Link to={`/datasets/${encodeURIComponent(accepted.dataset)}`}>{accepted.dataset}</Link>
        </strong>
        <Status value={r?.status ?? accepted.status} />
      </div>
      {accepted.duplicate_of && (
        <p>This very content was landed before; this is the earlier run.</p>
      )}
      {r && (
        <ol className="timeline" aria-label="Stages">
          {r.stages.map((s) => (
            <li key={s.name}>
              <div className="spread">
                <span>{s.name}</span>
                <Status value={s.status} />
              </div>
            </li>
          ))}
        </ol>
      )}
      {r && (
        <p>
          {count(r.counts.parsed)} parsed · {count(r.counts.rejected)} rejected ·{" "}
          {count(r.counts.valid)} valid
        </p>
      )}
      {r?.error && <ErrorBox error={new Error(r.error)} title="The run failed" />}
      <Link className="button" to={`/runs/${encodeURIComponent(accepted.run_id)}`}>
        Open the run
      </Link>
    </div>
  );
}

export default function UploadPage() {
  const [file, setFile] = useState<File | null>(null);
  const [dataset, setDataset] = useState("");
  const [key, setKey] = useState("");
  const [encoding, setEncoding] = useState("");
  const [over, setOver] = useState(false);
  const [sent, setSent] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [accepted, setAccepted] = useState<Accepted | null>(null);
  const cancel = useRef<(() => void) | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const choose = (files: FileList | null) => {
    if (files?.length) {
      setFile(files[0]);
      setAccepted(null);
      setError(null);
    }
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    choose(e.dataTransfer.files);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setAccepted(null);
    setSent({ sent: 0, total: file.size });
    const job = upload(
      { file, dataset: dataset.trim(), key: key.trim(), encoding: encoding.trim() },
      (s, total) => setSent({ sent: s, total }),
    );
    cancel.current = job.cancel;
    try {
      setAccepted(await job.done);
    } catch (err) {
      setError(err);
    } finally {
      cancel.current = null;
      setSent(null);
    }
  };
  const share = sent && sent.total ? Math.round((sent.sent / sent.total) * 100) : 0;
  return (
    <section className="stack">
      <h1>Upload a file</h1>
      <p className="muted">
        CSV and other delimited text, JSON / NDJSON, Parquet, Excel, or a .zip / .gz of them. It
        lands in Bronze as it is, then flows to Silver, quality and Gold.
      </p>
      <form onSubmit={submit} className="stack">
        <div
          className={`dropzone${over ? " over" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={drop}
        >
          <p>{file ? `${file.name} (${bytes(file.size)})` : "Drop a file here"}</p>
          <button type="button" onClick={() => input.current?.click()}>
            Choose a file
          </button>
          <input
            ref={input}
            type="file"
            aria-label="File to upload"
            className="sr-only"
            onChange={(e) => choose(e.target.files)}
          />
        </div>
        <div className="columns">
          <label>
            Dataset name
            <input
              value={dataset}
              onChange={(e) => setDataset(e.target.value)}
              placeholder="default: the file's name"
            />
          </label>
          <label>
            Key columns
            <input
              value={key}
              onChange={(e) => setKey(e.target.value)}
              placeholder="e.g. order_id (latest row per key wins)"
            />
          </label>
          <label>
            Encoding
            <input
              value={encoding}
              onChange={(e) => setEncoding(e.target.value)}
              placeholder="detected (utf-8, cp1252, …)"
            />
          </label>
        </div>
        <div className="row">
          <button type="submit" className="primary" disabled={!file || sent !== null}>
            Upload
          </button>
          {sent && (
            <button type="button" onClick={() => cancel.current?.()}>
              Cancel upload
            </button>
          )}
        </div>
        {sent && (
          <div>
            <div
              className="progress"
              role="progressbar"
              aria-label="Upload progress"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={share}
            >
              <div style={{ width: `${share}%` }} />
            </div>
            <p className="muted">
              {bytes(sent.sent)} of {bytes(sent.total)} sent ({share}%)
            </p>
          </div>
        )}
      </form>
      {error ? <ErrorBox error={error} title="The file was not accepted" /> : null}
      {accepted && <LiveRun accepted={accepted} />}
    </section>
  );
}
