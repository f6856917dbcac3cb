// PLACEHOLDER (being written this session): replaced by the real page.
export default function LineagePage() {
  return <h1>LineagePage</h1>;
}
