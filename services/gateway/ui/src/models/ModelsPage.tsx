// PLACEHOLDER (being written this session): replaced by the real page.
export default function ModelsPage() {
  return <h1>ModelsPage</h1>;
}
