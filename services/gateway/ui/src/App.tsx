// The shell: sign-in gate, navigation, live stream, and the routes. Every page but the
// dashboard is its own chunk (React.lazy), so the first page's bundle stays small.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { lazy, type ReactNode, Suspense, useState } from "react";
import { BrowserRouter, Link, NavLink, Route, Routes, useLocation } from "react-router";
import { api, unwrap } from "./api/client";
import { LiveProvider, useLiveState } from "./api/live";
import { can, type Me, useMe } from "./auth/session";
import { SignIn } from "./auth/SignIn";
import { Dashboard } from "./dashboard/Dashboard";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ErrorBox, Loading } from "./components/States";

const RunsPage = lazy(() => import("./runs/RunsPage"));
const RunPage = lazy(() => import("./runs/RunPage"));
const DatasetsPage = lazy(() => import("./datasets/DatasetsPage"));
const DatasetPage = lazy(() => import("./datasets/DatasetPage"));
const LineagePage = lazy(() => import("./lineage/LineagePage"));
const ModelsPage = lazy(() => import("./models/ModelsPage"));
const ModelPage = lazy(() => import("./models/ModelPage"));
const SqlPage = lazy(() => import("./sql/SqlPage"));
const UploadPage = lazy(() => import("./upload/UploadPage"));
const SourcesPage = lazy(() => import("./sources/SourcesPage"));
const SourcePage = lazy(() => import("./sources/SourcePage"));
const WorkflowsPage = lazy(() => import("./workflows/WorkflowsPage"));
const WorkflowPage = lazy(() => import("./workflows/WorkflowPage"));
const AdminPage = lazy(() => import("./admin/AdminPage"));
const ProposalsPage = lazy(() => import("./proposals/ProposalsPage"));
const ProposalPage = lazy(() => import("./proposals/ProposalPage"));

interface NavItem {
  to: string;
  label: string;
  role?: "viewer" | "analyst" | "operator" | "admin";
}

const NAV: NavItem[] = [
  { to: "/", label: "Dashboard" },
  { to: "/runs", label: "Runs" },
  { to: "/datasets", label: "Datasets" },
  { to: "/lineage", label: "Lineage" },
  { to: "/models", label: "Models" },
  { to: "/sql", label: "SQL", role: "analyst" },
  { to: "/upload", label: "Upload", role: "operator" },
  { to: "/sources", label: "Sources" },
  { to: "/workflows", label: "Workflows" },
  { to: "/proposals", label: "Proposals" },
  { to: "/admin", label: "Admin", role: "admin" },
];

function LiveBadge() {
  const state = useLiveState();
  const text = { live: "Live", connecting: "Connecting", reconnecting: "Reconnecting", off: "Offline" }[state];
  return (
    <span className={`live ${state}`} role="status" aria-label={`Live updates: ${text}`}>
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function Shell({ me, children }: { me: Me; children: ReactNode }) {
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const logout = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/logout")),
    onSettled: () => {
      client.clear();
      client.setQueryData(["me"], null);
    },
  });
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          className="menu"
          aria-expanded={open}
          aria-controls="nav"
          onClick={() => setOpen(!open)}
        >
          Menu
        </button>
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true" /> FlowForge
        </Link>
        <LiveBadge />
        <span className="who">
          {me.name} <span className="muted">({me.role})</span>
        </span>
        {me.kind === "user" && (
          <button onClick={() => logout.mutate()} disabled={logout.isPending}>
            Sign out
          </button>
        )}
      </header>
      <nav id="nav" aria-label="Main" className={open ? "open" : undefined}>
        <ul>
          {NAV.filter((n) => !n.role || can(me, n.role)).map((n) => (
            <li key={n.to}>
              <NavLink to={n.to} end={n.to === "/"} onClick={() => setOpen(false)}>
                {n.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary key={location.pathname}>
          <Suspense fallback={<Loading what="Loading the page" />}>{children}</Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <Link to="/">Go to the dashboard</Link>.
      </p>
    </section>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Dashboard />} />
      <Route path="/runs" element={<RunsPage />} />
      <Route path="/runs/:runId" element={<RunPage />} />
      <Route path="/datasets" element={<DatasetsPage />} />
      <Route path="/datasets/:name" element={<DatasetPage />} />
      <Route path="/lineage" element={<LineagePage />} />
      <Route path="/lineage/:name" element={<LineagePage />} />
      <Route path="/models" element={<ModelsPage />} />
      <Route path="/models/:name" element={<ModelPage />} />
      <Route path="/sql" element={<SqlPage />} />
      <Route path="/upload" element={<UploadPage />} />
      <Route path="/sources" element={<SourcesPage />} />
      <Route path="/sources/:name" element={<SourcePage />} />
      <Route path="/workflows" element={<WorkflowsPage />} />
      <Route path="/workflows/:name" element={<WorkflowPage />} />
      <Route path="/proposals" element={<ProposalsPage />} />
      <Route path="/proposals/:id" element={<ProposalPage />} />
      <Route path="/admin" element={<AdminPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

function Gate() {
  const me = useMe();
  if (me.isPending) return <Loading what="Starting" />;
  if (me.error) return <ErrorBox error={me.error} title="The gateway did not answer" />;
  if (!me.data) return <SignIn />;
  return (
    <LiveProvider enabled>
      <Shell me={me.data}>
        <AppRoutes />
      </Shell>
    </LiveProvider>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <Gate />
    </BrowserRouter>
  );
}
