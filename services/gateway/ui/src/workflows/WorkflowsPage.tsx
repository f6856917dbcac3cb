// PLACEHOLDER (being written this session): replaced by the real page.
export default function WorkflowsPage() {
  return <h1>WorkflowsPage</h1>;
}
