// API keys (machines): create one with a role and an optional expiry, shown ONCE with a copy
// button (FlowForge keeps only its hash); revoke one. Calls GET/POST /api/v1/keys,
// DELETE /api/v1/keys/{key_id}.
import { type FormEvent, useId, useState } from "react";
import { ago, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { ErrorBox, QueryState } from "../components/States";
import { type ApiKey, type Role, ROLE_TEXT, ROLES, useCreateKey, useKeys, useRevokeKey } from "./api";

function stateOf(k: ApiKey): string {
  if (k.revoked_at) return "revoked";
  if (k.expires_at && new Date(k.expires_at) <= new Date()) return "expired";
  return "active";
}

function ShownOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      setCopied("no");
    }
  };
  return (
    <div className="panel stack" role="region" aria-label="New API key" style={{ borderColor: "var(--warn)" }}>
      <p style={{ margin: 0 }}>
        <strong>Copy the key for “{name}” now: you will not see it again.</strong> FlowForge keeps
        only a hash of it; if it is lost, revoke it and create another.
      </p>
      <div className="row">
        <label className="inline" style={{ flex: "1 1 24rem" }}>
          Key
          <input
            readOnly
            value={secret}
            className="mono"
            style={{ flex: 1 }}
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p aria-live="polite" style={{ margin: 0 }}>
        {copied === "yes" && "Copied to the clipboard."}
        {copied === "no" && "The browser did not allow copying: select the key and copy it."}
      </p>
      <p className="muted" style={{ margin: 0 }}>
        Use it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
    </div>
  );
}

function NewKey() {
  const id = useId();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("operator");
  const [expires, setExpires] = useState("");
  const create = useCreateKey();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        name: name.trim(),
        role,
        expires_at: expires ? new Date(expires).toISOString() : undefined,
      },
      {
        onSuccess: () => {
          setName("");
          setExpires("");
        },
      },
    );
  };
  return (
    <div className="stack">
      <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h3 id={`${id}-title`} style={{ marginTop: 0 }}>
          New API key
        </h3>
        <div className="columns">
          <label>
            What it is for
            <input
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="nightly loader"
              autoComplete="off"
            />
          </label>
          <div>
            <label>
              Role
              <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-describedby={`${id}-role`}>
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <span id={`${id}-role`} className="muted">
              {ROLE_TEXT[role]}
            </span>
          </div>
          <label>
            Expires (optional, your time)
            <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
          </label>
        </div>
        {create.error && <ErrorBox error={create.error} title="The key was not created" />}
        <div className="row">
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
      {create.data && (
        <ShownOnce name={create.data.name} secret={create.data.key} onDone={() => create.reset()} />
      )}
    </div>
  );
}

export function KeysTab({ myKey }: { myKey?: string | null }) {
  const keys = useKeys();
  const revoke = useRevokeKey();
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const columns: Column<ApiKey>[] = [
    { key: "name", header: "For", render: (k) => k.name },
    {
      key: "id",
      header: "Id",
      render: (k) => (
        <span className="mono">
          {k.id}
          {k.id === myKey && <span className="muted"> (this session)</span>}
        </span>
      ),
    },
    { key: "role", header: "Role", render: (k) => k.role },
    { key: "state", header: "State", render: (k) => <Status value={stateOf(k)} /> },
    { key: "by", header: "Created by", render: (k) => k.created_by },
    { key: "created", header: "Created", render: (k) => when(k.created_at) },
    { key: "expires", header: "Expires", render: (k) => (k.expires_at ? when(k.expires_at) : "never") },
    { key: "used", header: "Last used", render: (k) => ago(k.last_used_at) },
    {
      key: "actions",
      header: "Actions",
      width: "7rem",
      render: (k) =>
        k.revoked_at ? (
          <span className="muted">{`revoked ${ago(k.revoked_at)}`}</span>
        ) : (
          <button
            type="button"
            className="danger"
            aria-label={`Revoke key ${k.name} (${k.id})`}
            onClick={() => {
              revoke.reset();
              setRevoking(k);
            }}
          >
            Revoke
          </button>
        ),
    },
  ];
  return (
    <div className="stack">
      <NewKey />
      <h3>API keys</h3>
      {revoking && (
        <div className="state error" role="alertdialog" aria-labelledby="revoke-q">
          <strong id="revoke-q">
            Revoke key “{revoking.name}” ({revoking.id})? Requests signed with it are refused from
            the next one on.
          </strong>
          <div className="row" style={{ marginTop: "0.5rem" }}>
            <button
              type="button"
              className="danger"
              autoFocus
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}
            >
              Yes, revoke it
            </button>
            <button type="button" onClick={() => setRevoking(null)}>
              Keep it
            </button>
          </div>
          {revoke.error && <ErrorBox error={revoke.error} title="Not revoked" />}
        </div>
      )}
      <QueryState
        query={keys}
        what="Loading API keys"
        isEmpty={(d) => d.keys.length === 0}
        empty="No API keys yet."
      >
        {(data) => (
          <DataTable rows={data.keys} columns={columns} rowKey={(k) => k.id} label="API keys" rowHeight={42} />
        )}
      </QueryState>
    </div>
  );
}
