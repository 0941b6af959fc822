import type { DocumentInfo } from '../../../common/api';

export const TYPE_LABELS: Record<DocumentInfo['type'], string> = { pdf: 'PDF', epub: 'EPUB', docx: 'Word', text: 'Text', markdown: 'Markdown', html: 'HTML' };

export function compactNumber(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}K`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function percent(fraction: number | undefined): string {
  return fraction === undefined ? '' : `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
}

export function clip(s: string, n: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}
