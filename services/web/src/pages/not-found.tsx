export function NotFound({ what = 'page' }: { what?: string }) {
  return (
    <section class="empty-state">
      <h1>Not found</h1>
      <p>
        There is no such {what} here. It may have been deleted, or it belongs to someone else. <a href="/">Back to your library</a>
      </p>
    </section>
  );
}
