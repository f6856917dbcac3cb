// A workflow definition as JSON (the same fields as a YAML file in the workflows folder), saved
// with PUT /api/v1/workflows/{name}. A refusal lists each field the scheduler named.
import { type FormEvent, useId, useState } from "react";
import { ErrorBox } from "../components/States";
import { NAME_PATTERN, NAME_RULE } from "../sources/api";
import { DefinitionError, usePutWorkflow, type Workflow } from "./api";

export function DefinitionEditor({
  name: fixedName,
  initial,
  onSaved,
  note,
}: {
  name?: string;
  initial: Record<string, unknown>;
  onSaved: (saved: Workflow) => void;
  note?: string;
}) {
  const id = useId();
  const [name, setName] = useState(fixedName ?? "");
  const [text, setText] = useState(() => JSON.stringify(initial, null, 2));
  const [parseError, setParseError] = useState("");
  const put = usePutWorkflow();
  const error = put.error;
  const fields = error instanceof DefinitionError ? error.fields : [];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch (err) {
      setParseError(`The definition is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (!definition || typeof definition !== "object" || Array.isArray(definition)) {
      setParseError("The definition is a JSON object with `steps` (and a schedule, if any).");
      return;
    }
    setParseError("");
    put.mutate({ name, definition: definition as Record<string, unknown> }, { onSuccess: onSaved });
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} style={{ marginTop: 0 }}>
        {fixedName ? `Edit ${fixedName}` : "New workflow"}
      </h2>
      {!fixedName && (
        <div>
          <label>
            Name
            <input
              required
              value={name}
              onChange={(e) => setName(e.target.value)}
              pattern={NAME_PATTERN}
              title={NAME_RULE}
              placeholder="nightly_orders"
              autoComplete="off"
              aria-describedby={`${id}-name-hint`}
            />
          </label>
          <span id={`${id}-name-hint`} className="muted">
            {NAME_RULE}
          </span>
        </div>
      )}
      <label>
        Definition (JSON)
        <textarea
          rows={18}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
          aria-describedby={`${id}-help`}
          aria-invalid={!!parseError || fields.length > 0}
        />
      </label>
      <p id={`${id}-help`} className="muted">
        Fields: <code>schedule</code> (<code>{"{cron, timezone}"}</code> or{" "}
        <code>{"{every: \"15m\"}"}</code>), <code>after</code>, <code>on_event</code>,{" "}
        <code>catchup</code>, <code>max_active_runs</code>, <code>on_limit</code>, <code>sla</code>,{" "}
        <code>notify</code>, <code>paused</code> and <code>steps</code>: each a <code>name</code>{" "}
        and one of <code>extract</code>, <code>pickup</code>, <code>build</code>,{" "}
        <code>quality</code>, <code>wait</code>, <code>webhook</code>, with <code>needs</code>,{" "}
        <code>retries</code>, <code>retry_delay</code>, <code>timeout</code>.
        {note ? ` ${note}` : ""}
      </p>
      {parseError && (
        <div className="state error" role="alert">
          {parseError}
        </div>
      )}
      {error && (
        <div>
          <ErrorBox error={error} title="The workflow was refused" />
          {fields.length > 0 && (
            <ul aria-label="Fields refused">
              {fields.map((f, i) => (
                <li key={i}>
                  <code>{f.where}</code>: {f.problem}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={put.isPending}>
          {put.isPending ? "Checking…" : "Save workflow"}
        </button>
      </div>
    </form>
  );
}
