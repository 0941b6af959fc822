/**
 * Scrolls `container` (only it, never the window) so `el` is in view. `scrollIntoView` would
 * also scroll every scrollable ancestor, the page itself included.
 */
export function scrollWithin(container: HTMLElement, el: Element, block: 'start' | 'center' = 'center'): void {
  const box = el.getBoundingClientRect();
  const outer = container.getBoundingClientRect();
  const top = box.top - outer.top + container.scrollTop;
  container.scrollTop = block === 'center' ? top - (container.clientHeight - box.height) / 2 : top - 8;
  const left = box.left - outer.left + container.scrollLeft;
  if (left < container.scrollLeft || left + box.width > container.scrollLeft + container.clientWidth) container.scrollLeft = Math.max(0, left - 16);
}

/** The nearest ancestor that scrolls vertically. */
export function scrollParent(el: Element): HTMLElement | null {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const style = getComputedStyle(p);
    if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
}
