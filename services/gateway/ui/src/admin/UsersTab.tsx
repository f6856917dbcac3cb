// Users (people who sign in): create with a role and a password, change the role, set a new
// password, disable / enable, delete. Changing any of these ends the user's sessions.
// Calls GET/POST /api/v1/users, PATCH/DELETE /api/v1/users/{name}.
import { type FormEvent, useId, useState } from "react";
import { ago, when } from "../api/format";
import { type Column, DataTable } from "../components/DataTable";
import { Status } from "../components/Status";
import { ErrorBox, QueryState } from "../components/States";
import {
  type Role,
  ROLE_TEXT,
  ROLES,
  type User,
  useCreateUser,
  useDeleteUser,
  useUpdateUser,
  useUsers,
} from "./api";

const USER_NAME = "[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,63}";

function NewUser() {
  const id = useId();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const create = useCreateUser();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), password, role },
      {
        onSuccess: () => {
          setName("");
          setPassword("");
          setRole("viewer");
        },
      },
    );
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} style={{ marginTop: 0 }}>
        New user
      </h3>
      <div className="columns">
        <label>
          User name
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            pattern={USER_NAME}
            title="letters, digits, _ . @ -; at most 64 characters"
            autoComplete="off"
          />
        </label>
        <div>
          <label>
            Password
            <input
              required
              type="password"
              minLength={12}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
              aria-describedby={`${id}-pw`}
            />
          </label>
          <span id={`${id}-pw`} className="muted">
            at least 12 characters; tell it to the person yourself
          </span>
        </div>
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
      </div>
      {create.error && <ErrorBox error={create.error} title="The user was not created" />}
      {create.data && (
        <p role="status">
          User <strong>{create.data.name}</strong> created as {create.data.role}.
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </button>
      </div>
    </form>
  );
}

function SetPassword({ user, onDone }: { user: string; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const update = useUpdateUser();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ name: user, patch: { password } }, { onSuccess: onDone });
  };
  return (
    <form className="panel stack" onSubmit={submit} aria-label={`New password for ${user}`}>
      <div className="row" style={{ alignItems: "flex-end" }}>
        <label>
          New password for {user}
          <input
            required
            autoFocus
            type="password"
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </label>
        <button type="submit" className="primary" disabled={update.isPending}>
          Set password
        </button>
        <button type="button" onClick={onDone}>
          Close
        </button>
      </div>
      <p className="muted" style={{ margin: 0 }}>
        At least 12 characters. The user's sessions end; a lock after failed sign-ins is lifted.
      </p>
      {update.error && <ErrorBox error={update.error} title="The password was not changed" />}
    </form>
  );
}

export function UsersTab({ me }: { me: string }) {
  const users = useUsers();
  const update = useUpdateUser();
  const remove = useDeleteUser();
  const [passwordFor, setPasswordFor] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [done, setDone] = useState("");

  const change = (u: User, patch: { role?: Role; disabled?: boolean }, text: string) =>
    update.mutate({ name: u.name, patch }, { onSuccess: () => setDone(text) });

  const columns: Column<User>[] = [
    {
      key: "name",
      header: "User",
      render: (u) => (
        <>
          {u.name}
          {u.name === me && <span className="muted"> (you)</span>}
        </>
      ),
    },
    {
      key: "role",
      header: "Role",
      width: "9rem",
      render: (u) => (
        <select
          aria-label={`Role of ${u.name}`}
          value={u.role}
          disabled={update.isPending}
          onChange={(e) =>
            change(u, { role: e.target.value as Role }, `${u.name} is now ${e.target.value}.`)
          }
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      ),
    },
    {
      key: "state",
      header: "State",
      render: (u) =>
        u.disabled ? (
          <Status value="disabled" />
        ) : u.locked_until && new Date(u.locked_until) > new Date() ? (
          <span title={`locked until ${when(u.locked_until)}`}>
            <Status value="locked" />
          </span>
        ) : (
          <Status value="active" />
        ),
    },
    { key: "login", header: "Last sign-in", render: (u) => ago(u.last_login_at) },
    { key: "created", header: "Created", render: (u) => when(u.created_at) },
    {
      key: "actions",
      header: "Actions",
      width: "20rem",
      render: (u) => (
        <span className="row" style={{ gap: "0.4rem", flexWrap: "nowrap" }}>
          <button
            type="button"
            disabled={update.isPending}
            aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.name}`}
            onClick={() =>
              change(u, { disabled: !u.disabled }, `${u.name} is ${u.disabled ? "enabled" : "disabled"}.`)
            }
          >
            {u.disabled ? "Enable" : "Disable"}
          </button>
          <button type="button" aria-label={`Set a password for ${u.name}`} onClick={() => setPasswordFor(u.name)}>
            Password
          </button>
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${u.name}`}
            onClick={() => {
              remove.reset();
              setDeleting(u.name);
            }}
          >
            Delete
          </button>
        </span>
      ),
    },
  ];

  return (
    <div className="stack">
      <NewUser />
      <h3>Users</h3>
      <div aria-live="polite">{done && <p role="status">{done}</p>}</div>
      {update.error && <ErrorBox error={update.error} title="Not changed" />}
      {passwordFor && <SetPassword key={passwordFor} user={passwordFor} onDone={() => setPasswordFor(null)} />}
      {deleting && (
        <div className="state error" role="alertdialog" aria-labelledby="delete-user-q">
          <strong id="delete-user-q">Delete user {deleting}? Their sessions end at once.</strong>
          <div className="row" style={{ marginTop: "0.5rem" }}>
            <button
              type="button"
              className="danger"
              autoFocus
              disabled={remove.isPending}
              onClick={() =>
                remove.mutate(deleting, {
                  onSuccess: () => {
                    setDone(`${deleting} deleted.`);
                    setDeleting(null);
                  },
                })
              }
            >
              Yes, delete {deleting}
            </button>
            <button type="button" onClick={() => setDeleting(null)}>
              Keep
            </button>
          </div>
          {remove.error && <ErrorBox error={remove.error} title="Not deleted" />}
        </div>
      )}
      <QueryState
        query={users}
        what="Loading users"
        isEmpty={(d) => d.users.length === 0}
        empty="No users yet: create one above."
      >
        {(data) => (
          <DataTable rows={data.users} columns={columns} rowKey={(u) => u.name} label="Users" rowHeight={42} />
        )}
      </QueryState>
    </div>
  );
}
