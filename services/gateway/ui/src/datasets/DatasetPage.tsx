// PLACEHOLDER (being written this session): replaced by the real page.
export default function DatasetPage() {
  return <h1>DatasetPage</h1>;
}
