/** Where the launch token is kept for this tab, so a reload (whose address no longer has it) still works. */
export const TOKEN_STORAGE_KEY = 'longread-token';

export interface TokenPage {
  /** The token the server put in the page (`<meta name="longread-token">`), when it did. */
  meta: string | null | undefined;
  /** The tab's sessionStorage (per origin, so per launch's port; gone with the tab); null where storage is refused. */
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  location: { href: string };
  history: Pick<History, 'replaceState' | 'state'>;
}

/**
 * The browser-mode launch token, and the address bar cleaned of it: `?token=` is dropped with
 * `history.replaceState` as soon as the page has it, so it does not stay in the history, in a
 * bookmark, a screenshot or an address copied to someone. The token then lives in the tab's
 * sessionStorage for reloads.
 */
export function launchToken(page: TokenPage): string | null {
  const fromPage = page.meta || null;
  if (fromPage) {
    try {
      page.storage?.setItem(TOKEN_STORAGE_KEY, fromPage);
    } catch {
      // storage full or refused: this load still works, a reload needs the printed address
    }
  }
  const url = new URL(page.location.href);
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    page.history.replaceState(page.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }
  if (fromPage) return fromPage;
  try {
    return page.storage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}
