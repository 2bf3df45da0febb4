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
  /** Conversations carrying this tag (case ignored). */
  tag?: string;
  /** A team member's name, or 'me' (the member marked "me"), or 'none' (unassigned). */
  assignee?: string;
  /** Only conversations where the customer wrote last and is waiting for an answer. */
  waiting?: boolean;
  /** Only conversations whose customer has a follow-up due by the end of today. */
  followups_due?: boolean;
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
  /** For a reply written here: 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled'; null otherwise. */
  delivery: string | null;
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

export type IdentityKind = 'email' | 'phone' | 'whatsapp' | 'messenger' | 'instagram' | 'telegram' | 'name';

export interface IdentityRow {
  id: number;
  kind: IdentityKind;
  /** Normalised: lower-cased email, E.164 phone. */
  value: string;
  display: string | null;
}

/** One merge or split; `id` is what undo takes. */
export interface CustomerChange {
  id: number;
  kind: 'merge' | 'split' | (string & {});
  kept: number;
  other: number;
  at: Timestamp;
  undone_at: Timestamp | null;
}

export interface CustomerDetail {
  id: number;
  name: string;
  language: string | null;
  merged_into: number | null;
  identities: IdentityRow[];
  conversation_ids: number[];
  order_count: number;
  note_count: number;
  followup_count: number;
  changes: CustomerChange[];
}

export interface AttachmentRow {
  id: number;
  message_id: number;
  filename: string | null;
  mime_type: string | null;
  size: number | null;
  inline: boolean;
}

export interface NoteRow {
  id: number;
  customer_id: number;
  conversation_id: number | null;
  author: string | null;
  body: string;
  created_at: Timestamp;
}

export interface OrderRow {
  id: number;
  customer_id: number | null;
  customer_name: string | null;
  source: string;
  number: string;
  email: string | null;
  phone: string | null;
  currency: string | null;
  /** In minor units (cents/agorot/grosze). */
  total_minor: number | null;
  financial_status: string | null;
  fulfillment_status: string | null;
  created_at: Timestamp;
  fulfilled_at: Timestamp | null;
  cancelled_at: Timestamp | null;
}

export type FollowupState = 'pending' | 'done' | 'cancelled';

export interface FollowupRow {
  id: number;
  customer_id: number;
  customer_name: string;
  conversation_id: number | null;
  order_id: number | null;
  order_number: string | null;
  rule_id: number | null;
  due_at: Timestamp;
  reason: string;
  state: FollowupState;
  notified_at: Timestamp | null;
  created_at: Timestamp;
  /** The customer has written since the follow-up was made: look before reaching out. */
  flagged: boolean;
}

export type RuleTrigger = 'order_created' | 'order_fulfilled';

export interface FollowupRule {
  id: number;
  name: string;
  trigger: RuleTrigger;
  days: number;
  template_id: number | null;
  template: string | null;
  enabled: boolean;
  created_at: Timestamp;
}

/** One entry of a customer's timeline, oldest first (sorted by `at`). */
export type TimelineItem =
  | { kind: 'message'; at: Timestamp; message: MessageRow; attachments: AttachmentRow[] }
  | { kind: 'note'; at: Timestamp; note: NoteRow }
  | { kind: 'order'; at: Timestamp; order: OrderRow };

/** Lifetime value in one currency. */
export interface MoneyTotal {
  currency: string;
  total_minor: number;
}

/** Everything the customer screen shows: timeline and sidebar. */
export interface CustomerView {
  customer: CustomerDetail;
  /** Its conversations (own and group chats), newest activity first. */
  conversations: ConversationRow[];
  timeline: TimelineItem[];
  orders: OrderRow[];
  notes: NoteRow[];
  /** Pending follow-ups, soonest first. */
  followups: FollowupRow[];
  /** Tags over all its conversations. */
  tags: string[];
  lifetime_value: MoneyTotal[];
  last_purchase: Timestamp | null;
}

export interface TemplateRow {
  id: number;
  name: string;
  language: string;
  subject: string | null;
  body: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A saved reply filled in for one conversation. */
export interface Rendered {
  name: string;
  language: string;
  subject: string | null;
  body: string;
}

export interface ReplyDraft {
  body_text: string;
  body_html?: string | null;
  /** Local file paths. */
  attachments?: string[];
  /** Unix milliseconds: "send later". */
  send_after?: number | null;
  subject?: string | null;
}

export type OutboxState = 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled';

export interface OutboxEntry {
  id: number;
  account_id: number;
  conversation_id: number | null;
  message_id: number | null;
  rfc_message_id: string;
  state: OutboxState;
  attempts: number;
  send_after: Timestamp | null;
  cancel_on_reply: boolean;
  next_attempt_at: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp | null;
  sent_at: Timestamp | null;
}

/** A chat reply logged as sent by hand, with a wa.me link when the customer has a phone. */
export interface ChatReply {
  message_id: number;
  link: string | null;
}

export interface TeamMember {
  id: number;
  name: string;
  email: string | null;
  is_me: boolean;
}

export type TlsMode = 'none' | 'starttls' | 'tls';

/** A mail account as entered in the form (the password travels separately). */
export interface AccountForm {
  name: string;
  email: string;
  aliases: string[];
  display_name: string | null;
  username: string;
  imap_host: string;
  imap_port: number;
  imap_tls: TlsMode;
  smtp_host: string;
  smtp_port: number;
  smtp_tls: TlsMode;
  ca_file: string | null;
  folders: string[];
  signature: string | null;
}

export interface AccountListing extends AccountForm {
  id: number;
  password_stored: boolean;
}

export type ImportKind = 'auto' | 'mail' | 'whatsapp' | 'messenger' | 'instagram' | 'telegram' | 'orders';

export interface ImportProblem {
  location: string;
  message: string;
}

/** What one import did (any kind). */
export interface ImportOutcome {
  /** The kind actually used (auto resolved). */
  kind: Exclude<ImportKind, 'auto'>;
  source: string;
  imported: number;
  duplicates: number;
  problems: ImportProblem[];
}

/** An `import-progress` event. */
export interface ImportProgress {
  source: string;
  done: number;
  total: number;
}

/** Settings by key (crates/app/src/customers.rs SETTINGS); unset keys are absent. */
export interface Settings {
  chat_names?: string[];
  default_phone_region?: string;
  own_addresses?: string[];
  notify_new_mail?: boolean;
  shop_name?: string;
  default_language?: string;
  /** UI language: en, he, ar or pl. */
  ui_language?: string;
  /** Minutes the customer may wait before the inbox highlights it. */
  response_target_email_minutes?: number;
  response_target_chat_minutes?: number;
}

/** Every backend command: its arguments (JS side, camelCase) and what it resolves to. */
export interface Commands {
  list_conversations: { args: { filter: ConversationFilter }; result: ConversationRow[] };
  conversation_messages: { args: { conversationId: number }; result: MessageRow[] };
  stats: { args: Record<string, never>; result: Stats };
  search: { args: { query: string; limit: number }; result: SearchHit[] };
  due_count: { args: Record<string, never>; result: number };
  customer_view: { args: { customerId: number }; result: CustomerView };
  set_status: { args: { conversationId: number; status: Exclude<Status, 'snoozed'> }; result: ConversationRow };
  /** `until`: free text the backend reads ("tomorrow 9:00", "3d", "2026-12-24"), or null for "until the customer replies". */
  snooze: { args: { conversationId: number; until: string | null }; result: ConversationRow };
  tag: { args: { conversationId: number; tag: string }; result: ConversationRow };
  untag: { args: { conversationId: number; tag: string }; result: ConversationRow };
  assign: { args: { conversationId: number; member: string | null }; result: ConversationRow };
  add_note: { args: { customerId: number; conversationId: number | null; body: string }; result: NoteRow };
  reply: { args: { conversationId: number; draft: ReplyDraft }; result: OutboxEntry };
  chat_reply: { args: { conversationId: number; body: string; how: 'copy' | 'whatsapp' }; result: ChatReply };
  templates: { args: Record<string, never>; result: TemplateRow[] };
  render_template: { args: { name: string; conversationId: number }; result: Rendered };
  save_template: { args: { name: string; language: string; subject: string | null; body: string }; result: unknown };
  followups: { args: { listing: 'pending' | 'due' }; result: FollowupRow[] };
  add_followup: { args: { customerId: number; conversationId: number | null; when: string; note: string }; result: FollowupRow };
  finish_followup: { args: { id: number }; result: null };
  cancel_followup: { args: { id: number }; result: null };
  snooze_followup: { args: { id: number; when: string }; result: FollowupRow };
  followup_rules: { args: Record<string, never>; result: FollowupRule[] };
  add_followup_rule: { args: { name: string; trigger: RuleTrigger; days: number; template: string | null }; result: FollowupRule };
  set_followup_rule_enabled: { args: { id: number; enabled: boolean }; result: null };
  /** Reads free text ("tomorrow 9:00", "+3d") as a time: the preview under a date field. */
  parse_when: { args: { text: string }; result: Timestamp };
  settings: { args: Record<string, never>; result: Settings };
  set_setting: { args: { key: keyof Settings; value: string }; result: unknown };
  team: { args: Record<string, never>; result: TeamMember[] };
  set_me: { args: { member: string }; result: TeamMember };
  import_file: { args: { kind: ImportKind; path: string }; result: ImportOutcome };
  accounts: { args: Record<string, never>; result: AccountListing[] };
  add_account: { args: { account: AccountForm; password: string }; result: number };
  /** Logs in to IMAP and SMTP with these settings without saving anything; rejects with the server's answer. */
  test_account: { args: { account: AccountForm; password: string }; result: null };
  merge_customers: { args: { keep: number; absorbed: number }; result: number };
  split_customer: { args: { customerId: number; identity: string }; result: unknown };
  undo_customer_change: { args: { change: number }; result: unknown };
  /** Opens the attachment with the desktop's viewer. */
  open_attachment: { args: { id: number }; result: null };
  /** Copies the attachment into Downloads; resolves to where it went. */
  save_attachment: { args: { id: number }; result: string };
  /** Bench mode only (bench/desktop): what to measure, or null in normal use. */
  bench_plan: { args: Record<string, never>; result: { customer_id: number; other_customer_id: number | null; queries: string[] } | null };
  bench_report: { args: { phase: string; ms: number }; result: null };
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
