// Typed wrappers over the Tauri IPC commands (src-tauri/src/lib.rs).
// Every call rejects with an AppError {code, message}. Outside Tauri (plain browser:
// `npm run dev`, `vite preview`, tests) the calls go to the built-in mock dataset (mock.ts).
import { invoke } from '@tauri-apps/api/core';
import type {
  AppError,
  Command,
  Commands,
  ConversationFilter,
  ConversationRow,
  MessageRow,
  SearchHit,
  Stats,
  SyncStatus,
  ImportProgress,
} from './types';

/** True inside the Tauri webview. */
export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

function isAppError(e: unknown): e is AppError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as AppError).code === 'string' &&
    typeof (e as AppError).message === 'string'
  );
}

/** Whatever a call threw, as an AppError. Tauri rejects with the serialised error object, or a plain string for IPC failures. */
export function toAppError(e: unknown): AppError {
  if (isAppError(e)) return { code: e.code, message: e.message };
  if (typeof e === 'string') return { code: 'ipc', message: e };
  if (e instanceof Error) return { code: 'internal', message: e.message || String(e) };
  return { code: 'internal', message: String(e) };
}

/** Any backend command by name (typed by `Commands`). */
export async function call<C extends Command>(cmd: C, args: Commands[C]['args']): Promise<Commands[C]['result']> {
  try {
    if (isTauri()) {
      return await invoke<Commands[C]['result']>(cmd, args);
    }
    const mock = await import('./mock');
    return await mock.mockInvoke(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

/** The inbox, newest activity first. Page with `limit` / `offset`. */
export function listConversations(filter: ConversationFilter = {}): Promise<ConversationRow[]> {
  return call('list_conversations', { filter });
}

/** One conversation's messages. */
export function conversationMessages(conversationId: number): Promise<MessageRow[]> {
  return call('conversation_messages', { conversationId });
}

/** Totals for the header bar. */
export function stats(): Promise<Stats> {
  return call('stats', {});
}

/** Full-text search over messages. */
export function search(query: string, limit = 50): Promise<SearchHit[]> {
  return call('search', { query, limit });
}

/** The latest sync state of every mail account (events sent before the window listened). */
export async function syncStatus(): Promise<SyncStatus[]> {
  if (!isTauri()) return [];
  try {
    return await invoke<SyncStatus[]>('sync_status');
  } catch (e) {
    throw toAppError(e);
  }
}

/** Calls `handler` with every background mail-sync event; returns the unsubscribe. Outside Tauri there is no sync. */
export async function onSync(handler: (status: SyncStatus) => void): Promise<() => void> {
  if (!isTauri()) return () => {};
  const { listen } = await import('@tauri-apps/api/event');
  return listen<SyncStatus>('sync', (event) => handler(event.payload));
}

/** What a clicked notification asks the window to open (Rust OpenTarget). */
export type OpenTarget = { kind: 'customer'; id: number } | { kind: 'followups' };

/** Calls `handler` when a desktop notification was clicked; returns the unsubscribe. */
export async function onOpen(handler: (target: OpenTarget) => void): Promise<() => void> {
  if (!isTauri()) return () => {};
  const { listen } = await import('@tauri-apps/api/event');
  return listen<OpenTarget>('open', (event) => handler(event.payload));
}

/** Calls `handler` with the number of follow-ups due whenever it may have changed. */
export async function onDue(handler: (count: number) => void): Promise<() => void> {
  if (!isTauri()) return () => {};
  const { listen } = await import('@tauri-apps/api/event');
  return listen<number>('due', (event) => handler(event.payload));
}

/** Calls `handler` with each `import-progress` event of a running import. */
export async function onImportProgress(handler: (p: ImportProgress) => void): Promise<() => void> {
  if (!isTauri()) return () => {};
  const { listen } = await import('@tauri-apps/api/event');
  return listen<ImportProgress>('import-progress', (event) => handler(event.payload));
}

/** Files dropped on the window (their paths), for the import screen. */
export async function onFileDrop(handler: (paths: string[]) => void): Promise<() => void> {
  if (!isTauri()) return () => {};
  const { getCurrentWebview } = await import('@tauri-apps/api/webview');
  return getCurrentWebview().onDragDropEvent((event) => {
    if (event.payload.type === 'drop') handler(event.payload.paths);
  });
}

/** The desktop's file chooser (several files, or one folder with `folder`); [] when cancelled or outside Tauri. */
export async function pickFiles(options: { folder?: boolean } = {}): Promise<string[]> {
  if (!isTauri()) return [];
  const { open } = await import('@tauri-apps/plugin-dialog');
  const picked = await open({ multiple: !options.folder, directory: options.folder ?? false });
  if (picked === null) return [];
  return Array.isArray(picked) ? picked : [picked];
}
