// PLACEHOLDER (being written this session): replaced by the real page.
export default function AdminPage() {
  return <h1>AdminPage</h1>;
}
