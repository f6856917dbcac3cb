// The "New connection" form (admins): name, kind, host, port, database, user, password (sent
// once, never shown again: the API answers `has_password`), and the kind's options. A URL can
// fill the fields. Posts ConnectionCreate; the caller tests the saved connection.
import { type FormEvent, useId, useState } from "react";
import { ErrorBox } from "../components/States";
import {
  type Connection,
  type ConnectionCreate,
  type ConnectionKind,
  KINDS,
  NAME_PATTERN,
  NAME_RULE,
  useCreateConnection,
} from "./api";

interface OptionField {
  key: string;
  label: string;
  choices?: string[];
  hint?: string;
}

const TIMEOUT: OptionField = { key: "connect_timeout", label: "Connect timeout (s)", hint: "10 by default, at most 60" };
const OPTIONS: Record<ConnectionKind, OptionField[]> = {
  postgresql: [
    { key: "sslmode", label: "TLS (sslmode)", choices: ["prefer", "disable", "require", "verify-ca", "verify-full"] },
    { key: "schema", label: "Default schema", hint: "for browsing and previews" },
    TIMEOUT,
  ],
  mysql: [
    { key: "ssl", label: "TLS (ssl)", choices: ["preferred", "disabled", "required", "verify_identity"] },
    TIMEOUT,
  ],
  sqlserver: [
    { key: "encrypt", label: "Encrypt", choices: ["no", "yes", "strict"] },
    { key: "schema", label: "Default schema", hint: "dbo by default" },
    TIMEOUT,
  ],
  oracle: [
    { key: "service_name", label: "Service name", hint: "else the database is taken as the service" },
    { key: "sid", label: "SID" },
    { key: "schema", label: "Default schema", hint: "the user's own by default" },
    TIMEOUT,
  ],
};

const SCHEMES: Record<string, ConnectionKind> = {
  postgres: "postgresql",
  postgresql: "postgresql",
  mysql: "mysql",
  mariadb: "mysql",
  mssql: "sqlserver",
  sqlserver: "sqlserver",
  oracle: "oracle",
};

interface Fields {
  name: string;
  kind: ConnectionKind;
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  options: Record<string, string>;
}

const EMPTY: Fields = {
  name: "",
  kind: "postgresql",
  host: "",
  port: "",
  database: "",
  user: "",
  password: "",
  options: {},
};

/** The request body: empty fields left out (the gateway's defaults apply). */
export function toBody(f: Fields): ConnectionCreate {
  const options: Record<string, string | number> = {};
  for (const field of OPTIONS[f.kind]) {
    const value = (f.options[field.key] ?? "").trim();
    if (!value) continue;
    options[field.key] = field.key === "connect_timeout" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  const body: ConnectionCreate = {
    name: f.name.trim(),
    kind: f.kind,
    host: f.host.trim(),
    database: f.database.trim(),
    user: f.user.trim(),
    options,
  };
  if (f.port.trim()) body.port = Number(f.port);
  if (f.password) body.password = f.password;
  return body;
}

/** Fields from a URL such as postgresql://user:pass@host:5432/db?sslmode=require. */
export function fromUrl(text: string, current: Fields): Fields | string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return "not a URL: write it as kind://user:password@host:port/database";
  }
  const kind = SCHEMES[url.protocol.replace(/:$/, "").toLowerCase()];
  if (!kind) return `unknown kind ${url.protocol}: use postgresql, mysql, mssql or oracle`;
  const options: Record<string, string> = {};
  const known = new Set(OPTIONS[kind].map((o) => o.key));
  url.searchParams.forEach((value, key) => {
    if (known.has(key)) options[key] = value;
  });
  return {
    ...current,
    kind,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : current.password,
    options,
  };
}

export function ConnectionForm({ onCreated }: { onCreated: (c: Connection) => void }) {
  const id = useId();
  const [f, setF] = useState<Fields>(EMPTY);
  const [url, setUrl] = useState("");
  const [urlError, setUrlError] = useState("");
  const create = useCreateConnection();
  const set = (patch: Partial<Fields>) => setF((old) => ({ ...old, ...patch }));
  const port = KINDS.find((k) => k.value === f.kind)?.port;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(toBody(f), {
      onSuccess: (saved) => {
        setF(EMPTY);
        setUrl("");
        onCreated(saved);
      },
    });
  };
  const fill = () => {
    const next = fromUrl(url, f);
    if (typeof next === "string") setUrlError(next);
    else {
      setUrlError("");
      setF(next);
      setUrl("");
    }
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} style={{ marginTop: 0 }}>
        New connection
      </h2>
      <div className="row" style={{ alignItems: "flex-end" }}>
        <label style={{ flex: "1 1 20rem" }}>
          Fill from a URL (optional)
          <input
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="postgresql://user@db.internal:5432/shop"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <button type="button" onClick={fill} disabled={!url.trim()}>
          Fill the fields
        </button>
      </div>
      {urlError && (
        <p className="state error" role="alert">
          {urlError}
        </p>
      )}
      <div className="columns">
        <div>
          <label>
            Name
            <input
              required
              value={f.name}
              onChange={(e) => set({ name: e.target.value })}
              pattern={NAME_PATTERN}
              title={NAME_RULE}
              placeholder="shop"
              aria-describedby={`${id}-name-hint`}
              autoComplete="off"
            />
          </label>
          <span id={`${id}-name-hint`} className="muted">
            {NAME_RULE}
          </span>
        </div>
        <label>
          Kind
          <select
            value={f.kind}
            onChange={(e) => set({ kind: e.target.value as ConnectionKind, options: {} })}
          >
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Host
          <input
            required
            value={f.host}
            onChange={(e) => set({ host: e.target.value })}
            placeholder="db.internal"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <label>
          Port
          <input
            type="number"
            min={1}
            max={65535}
            value={f.port}
            onChange={(e) => set({ port: e.target.value })}
            placeholder={port ? `${port} (default)` : undefined}
          />
        </label>
        <label>
          Database
          <input
            value={f.database}
            onChange={(e) => set({ database: e.target.value })}
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <label>
          User
          <input
            value={f.user}
            onChange={(e) => set({ user: e.target.value })}
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <div>
          <label>
            Password
            <input
              type="password"
              value={f.password}
              onChange={(e) => set({ password: e.target.value })}
              autoComplete="new-password"
              aria-describedby={`${id}-pw-hint`}
            />
          </label>
          <span id={`${id}-pw-hint`} className="muted">
            Sealed at rest and never shown again.
          </span>
        </div>
      </div>
      <fieldset>
        <legend>Options for {KINDS.find((k) => k.value === f.kind)?.label}</legend>
        <div className="columns">
          {OPTIONS[f.kind].map((o) => (
            <label key={o.key}>
              {o.label}
              {o.choices ? (
                <select
                  value={f.options[o.key] ?? ""}
                  onChange={(e) => set({ options: { ...f.options, [o.key]: e.target.value } })}
                >
                  <option value="">default ({o.choices[0]})</option>
                  {o.choices.map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input
                  value={f.options[o.key] ?? ""}
                  onChange={(e) => set({ options: { ...f.options, [o.key]: e.target.value } })}
                  placeholder={o.hint}
                  inputMode={o.key === "connect_timeout" ? "numeric" : undefined}
                  autoComplete="off"
                />
              )}
            </label>
          ))}
        </div>
      </fieldset>
      {create.error && <ErrorBox error={create.error} title="The connection was not saved" />}
      <div className="row">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Saving…" : "Save connection"}
        </button>
      </div>
    </form>
  );
}
