// PLACEHOLDER (being written this session): replaced by the real page.
export default function SourcesPage() {
  return <h1>SourcesPage</h1>;
}
