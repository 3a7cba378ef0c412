// Transient notices: errors of actions and confirmations, read out by
// screen readers through the live region that renders them.

export interface Toast {
  id: number;
  kind: 'error' | 'ok' | 'info';
  text: string;
  detail?: string;
}

export const toasts = $state<Toast[]>([]);
let next = 1;

export function toast(kind: Toast['kind'], text: string, detail?: string, ms = kind === 'error' ? 9000 : 4000) {
  const t = { id: next++, kind, text, detail };
  toasts.push(t);
  setTimeout(() => dismiss(t.id), ms);
}

export function dismiss(id: number) {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}

export function errorToast(prefix: string, e: unknown) {
  toast('error', prefix, e instanceof Error ? e.message : String(e));
}
