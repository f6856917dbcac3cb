// A run's or check's state as a coloured badge with its word (colour is never the only cue).
const TONE: Record<string, string> = {
  succeeded: "ok",
  passed: "ok",
  pass: "ok",
  ok: "ok",
  healthy: "ok",
  failed: "bad",
  fail: "bad",
  error: "bad",
  warn: "warn",
  warning: "warn",
  stale: "warn",
  running: "busy",
  queued: "idle",
  skipped: "idle",
  paused: "idle",
};

export function Status({ value }: { value: string | null | undefined }) {
  const word = value ?? "unknown";
  return <span className={`badge ${TONE[word.toLowerCase()] ?? "idle"}`}>{word}</span>;
}
