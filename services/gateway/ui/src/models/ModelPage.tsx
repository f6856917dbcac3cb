// PLACEHOLDER (being written this session): replaced by the real page.
export default function ModelPage() {
  return <h1>ModelPage</h1>;
}
