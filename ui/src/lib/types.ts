// Shapes exchanged with the Rust backend over Tauri IPC, exactly as serde serialises them.
// Times are RFC 3339 strings in UTC.

export type Channel = 'email' | 'whatsapp' | 'messenger' | 'instagram' | 'telegram';
export const CHANNELS: readonly Channel[] = ['email', 'whatsapp', 'messenger', 'instagram', 'telegram'];

export type Status = 'open' | 'pending' | 'snoozed' | 'closed';
export const STATUSES: readonly Status[] = ['open', 'pending', 'snoozed', 'closed'];

export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type Direction = 'in' | 'out' | 'system';

/** RFC 3339 timestamp in UTC, e.g. "2025-03-04T09:15:00Z". */
export type Timestamp = string;

export interface ConversationFilter {
  limit?: number;
  offset?: number;
  status?: Status;
  channel?: Channel;
  customer?: number;
}

export interface ConversationRow {
  id: number;
  customer_id: number;
  customer_name: string;
  channel: Channel;
  status: Status;
  priority: Priority;
  subject: string | null;
  assignee: string | null;
  tags: string[];
  message_count: number;
  message_ids: string[];
  last_activity: Timestamp;
  last_inbound: Timestamp | null;
  snoozed_until: Timestamp | null;
  snippet: string;
}

export interface MessageRow {
  id: number;
  conversation_id: number;
  direction: Direction;
  channel: string;
  author: string | null;
  sent_at: Timestamp;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  rfc_message_id: string | null;
  sent_by_hand: boolean;
}

export interface Stats {
  customers: number;
  conversations: number;
  messages: number;
  orders: number;
  followups_due: number;
}

export interface SearchHit {
  message_id: number;
  conversation_id: number;
  customer_id: number;
  customer_name: string;
  channel: string;
  author: string | null;
  sent_at: Timestamp;
  snippet: string;
}

/** Error codes of the backend's AppError (snake_case, as serialised). */
export type ErrorCode =
  | 'not_a_database'
  | 'schema_too_new'
  | 'read_only'
  | 'not_found'
  | 'invalid_input'
  | 'would_overwrite'
  | 'keyring'
  | 'mail_server_unreachable'
  | 'mail_login'
  | 'tls'
  | 'mail_server'
  | 'database'
  | 'io'
  | 'internal';

/** What every api.ts call rejects with. `code` is an ErrorCode from the backend, or 'ipc' / 'internal' for failures on this side. */
export interface AppError {
  code: ErrorCode | 'ipc' | (string & {});
  message: string;
}

/** Every backend command: its arguments (JS side, camelCase) and what it resolves to. */
export interface Commands {
  list_conversations: { args: { filter: ConversationFilter }; result: ConversationRow[] };
  conversation_messages: { args: { conversationId: number }; result: MessageRow[] };
  stats: { args: Record<string, never>; result: Stats };
  search: { args: { query: string; limit: number }; result: SearchHit[] };
}
export type Command = keyof Commands;

/** What one sync pass over a mail account did (crates/app/src/sync.rs SyncReport). */
export interface SyncReport {
  account: string;
  imported: number;
  duplicates: number;
  problems: { location: string; message: string }[];
}

/** A `sync` event from the background mail sync (crates/app/src/sync.rs SyncStatus). */
export type SyncStatus =
  | { event: 'progress'; account: string; done: number; total: number }
  | { event: 'synced'; account: string; report: SyncReport }
  | { event: 'waiting'; account: string }
  | { event: 'retrying'; account: string; error: AppError; delay_secs: number }
  | { event: 'failed'; account: string; error: AppError };
