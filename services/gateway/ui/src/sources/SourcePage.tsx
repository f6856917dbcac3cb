// PLACEHOLDER (being written this session): replaced by the real page.
export default function SourcePage() {
  return <h1>SourcePage</h1>;
}
