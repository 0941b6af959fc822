import { ApiError } from '../../../../common/api';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  title: string;
  message: string;
  code?: string;
}

let next = 1;

/** Notifications in the corner: typed errors show their `message` (and their code, small). */
class Toasts {
  items = $state<Toast[]>([]);

  show(kind: Toast['kind'], title: string, message: string, code?: string): void {
    const toast: Toast = { id: next++, kind, title, message, code };
    this.items = [...this.items, toast].slice(-5);
    if (kind === 'info') setTimeout(() => this.dismiss(toast.id), 6000);
  }

  error(title: string, e: unknown): void {
    if (e instanceof ApiError) this.show('error', title, e.message, e.code);
    else this.show('error', title, e instanceof Error ? e.message : String(e));
  }

  info(title: string, message: string): void {
    this.show('info', title, message);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
