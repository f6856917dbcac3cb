// PLACEHOLDER (being written this session): replaced by the real page.
export default function UploadPage() {
  return <h1>UploadPage</h1>;
}
