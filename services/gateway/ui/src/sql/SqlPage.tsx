// PLACEHOLDER (being written this session): replaced by the real page.
export default function SqlPage() {
  return <h1>SqlPage</h1>;
}
