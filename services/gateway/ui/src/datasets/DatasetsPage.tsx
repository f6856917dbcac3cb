// PLACEHOLDER (being written this session): replaced by the real page.
export default function DatasetsPage() {
  return <h1>DatasetsPage</h1>;
}
