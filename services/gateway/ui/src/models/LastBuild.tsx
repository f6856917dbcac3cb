import { ago, when } from "../api/format";
import { Status } from "../components/Status";
import { buildState, type Model } from "./api";

/** The last build: its outcome and when (a failure newer than the last good build counts). */
export function LastBuild({ model }: { model: Model }) {
  const state = buildState(model);
  const at = state === "failed" ? model.last_error_at : model.built_at;
  return (
    <span title={model.last_error ?? undefined}>
      <Status value={state} />{" "}
      {at && <span className="muted" title={when(at)}>{ago(at)}</span>}
    </span>
  );
}
