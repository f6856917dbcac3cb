// Administration (admins only): users, API keys, the audit log and the LLM's usage, as tabs
// (the tab in the address, ?tab=users|keys|audit|llm). Nothing is asked of the API for anyone
// else.
import { useSearchParams } from "react-router";
import { can, useMe } from "../auth/session";
import { Tabs } from "../components/Tabs";
import { Empty, Loading } from "../components/States";
import { AuditTab } from "./AuditTab";
import { KeysTab } from "./KeysTab";
import { UsageTab } from "./UsageTab";
import { UsersTab } from "./UsersTab";

const TABS = ["users", "keys", "audit", "llm"] as const;

export default function AdminPage() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const asked = params.get("tab");
  const current = TABS.find((t) => t === asked) ?? "users";
  if (me.isPending) return <Loading what="Checking your role" />;
  if (!can(me.data, "admin"))
    return (
      <section>
        <h1>Admin</h1>
        <Empty>Only admins manage users, API keys and the audit log.</Empty>
      </section>
    );
  const who = me.data;
  return (
    <section>
      <h1>Admin</h1>
      <Tabs
        label="Administration"
        current={current}
        onChange={(id) => {
          const next = new URLSearchParams(params);
          next.set("tab", id);
          setParams(next, { replace: true });
        }}
        tabs={[
          { id: "users", label: "Users", render: () => <UsersTab me={who?.kind === "user" ? who.name : ""} /> },
          { id: "keys", label: "API keys", render: () => <KeysTab myKey={who?.key_id} /> },
          { id: "audit", label: "Audit log", render: () => <AuditTab /> },
          { id: "llm", label: "LLM usage", render: () => <UsageTab /> },
        ]}
      />
    </section>
  );
}
