// PLACEHOLDER (being written this session): replaced by the real page.
export default function RunPage() {
  return <h1>RunPage</h1>;
}
