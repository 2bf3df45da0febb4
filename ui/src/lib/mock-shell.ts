// Mock backend for the shell (follow-ups, settings, team, import, accounts, parse_when, due_count). Returns undefined for commands it does not know.
// State lives in memory for the page's lifetime, like a fresh database.
import { data, fail } from './mock';
import type {
  AccountForm,
  AccountListing,
  Command,
  Commands,
  FollowupRow,
  FollowupRule,
  ImportKind,
  ImportOutcome,
  Settings,
  TeamMember,
  Timestamp,
} from './types';
import { DAY, HOUR, MINUTE, iso } from './mock-time';


interface ShellDb {
  team: TeamMember[];
  settings: Settings;
  followups: FollowupRow[];
  rules: FollowupRule[];
  accounts: AccountListing[];
  nextId: number;
}

let db: ShellDb | null = null;

function customerName(id: number): string {
  return data().conversations.find((c) => c.customer_id === id)?.customer_name ?? `#${id}`;
}

function build(): ShellDb {
  const now = Date.now();
  const conversations = data().conversations;
  const followup = (index: number, dueIn: number, reason: string, flagged = false): FollowupRow[] => {
    const c = conversations[index];
    if (!c) return [];
    return [
      {
        id: index + 1,
        customer_id: c.customer_id,
        customer_name: c.customer_name,
        conversation_id: c.id,
        order_id: null,
        order_number: null,
        rule_id: null,
        due_at: iso(now + dueIn),
        reason,
        state: 'pending',
        notified_at: null,
        created_at: iso(now - 3 * DAY),
        flagged,
      },
    ];
  };
  return {
    team: [
      { id: 1, name: 'Dana', email: 'dana@candles.test', is_me: true },
      { id: 2, name: 'Marek', email: 'marek@candles.test', is_me: false },
    ],
    settings: {
      chat_names: ['Shopdesk Candles', 'Dana'],
      default_phone_region: 'IL',
      notify_new_mail: true,
      shop_name: 'Shopdesk Candles',
      response_target_email_minutes: 60,
      response_target_chat_minutes: 5,
    },
    followups: [
      ...followup(3, -2 * HOUR, 'Remind about the order after payday', true),
      ...followup(1, 30 * MINUTE, 'בדיקה שהשליח הגיע'),
      ...followup(2, 3 * DAY, 'Czy zwrot dotarł? Potwierdzić przelew.'),
      ...followup(4, 8 * DAY, 'Send the wholesale quote reminder'),
    ],
    rules: [
      {
        id: 1,
        name: 'Review request',
        trigger: 'order_fulfilled',
        days: 7,
        template_id: null,
        template: null,
        enabled: true,
        created_at: iso(now - 30 * DAY),
      },
    ],
    accounts: [
      {
        id: 1,
        name: 'shop',
        email: 'hello@candles.test',
        aliases: [],
        display_name: 'Shopdesk Candles',
        username: 'hello@candles.test',
        imap_host: 'imap.fastmail.com',
        imap_port: 993,
        imap_tls: 'tls',
        smtp_host: 'smtp.fastmail.com',
        smtp_port: 465,
        smtp_tls: 'tls',
        ca_file: null,
        folders: [],
        signature: null,
        password_stored: true,
      },
    ],
    nextId: 100,
  };
}

function shell(): ShellDb {
  if (!db) db = build();
  return db;
}

/** The team member marked "me" (for the inbox's assignee 'me'). */
export function myName(): string | null {
  return shell().team.find((m) => m.is_me)?.name ?? null;
}

/** Customers with a pending follow-up due by the end of today (the inbox's followups_due view). */
export function customersWithFollowupsDue(): Set<number> {
  const now = new Date();
  const end = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime();
  return new Set(shell().followups.filter((f) => f.state === 'pending' && Date.parse(f.due_at) < end).map((f) => f.customer_id));
}

/** Reads "tomorrow 9:00", "in 3 days", "2h", "2026-12-24 10:00" like the backend does (a subset). */
function parseWhen(text: string, now = new Date()): Timestamp {
  const s = text.trim().toLowerCase();
  const relative = /^(?:in\s+)?(\d+)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)$/.exec(s);
  if (relative) {
    const n = Number(relative[1]);
    const unit = relative[2][0];
    const ms = unit === 'm' ? MINUTE : unit === 'h' ? HOUR : unit === 'd' ? DAY : 7 * DAY;
    return iso(now.getTime() + n * ms);
  }
  const day = /^(today|tomorrow)(?:\s+(\d{1,2})(?::(\d{2}))?)?$/.exec(s);
  if (day) {
    const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + (day[1] === 'tomorrow' ? 1 : 0));
    d.setHours(day[2] ? Number(day[2]) : 9, day[3] ? Number(day[3]) : 0);
    return iso(d.getTime());
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(s);
  if (date) {
    const d = new Date(Number(date[1]), Number(date[2]) - 1, Number(date[3]), date[4] ? Number(date[4]) : 9, date[5] ? Number(date[5]) : 0);
    if (!Number.isNaN(d.getTime())) return iso(d.getTime());
  }
  return fail('invalid_input', `cannot read "${text}" as a time; try "tomorrow 9:00", "in 3 days" or "2026-12-24"`);
}

function futureWhen(text: string): Timestamp {
  const at = parseWhen(text);
  if (Date.parse(at) <= Date.now()) fail('invalid_input', `"${text}" is in the past`);
  return at;
}

function followup(id: number): FollowupRow {
  return shell().followups.find((f) => f.id === id) ?? fail('not_found', `follow-up ${id} not found`);
}

function pending(listing: 'pending' | 'due'): FollowupRow[] {
  const now = Date.now();
  return shell()
    .followups.filter((f) => f.state === 'pending' && (listing === 'pending' || Date.parse(f.due_at) <= now))
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
}

/** A setting's value as the backend reads it: JSON, else a bare word. */
function setSetting(key: keyof Settings, value: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = value.trim();
  }
  const s = shell().settings as Record<string, unknown>;
  const list = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  switch (key) {
    case 'chat_names':
    case 'own_addresses':
      if (!list(parsed)) fail('invalid_input', `${key} must be a JSON list of strings`);
      break;
    case 'default_phone_region':
      if (typeof parsed !== 'string' || !/^[a-z]{2}$/i.test(parsed)) fail('invalid_input', `unknown region ${JSON.stringify(parsed)}; use a two-letter country code such as IL or PL`);
      parsed = parsed.toUpperCase();
      break;
    case 'notify_new_mail':
      if (typeof parsed !== 'boolean') fail('invalid_input', 'notify_new_mail must be true or false');
      break;
    case 'ui_language':
    case 'default_language':
      if (typeof parsed !== 'string' || !['en', 'he', 'ar', 'pl'].includes(parsed)) fail('invalid_input', `${key} must be en, he, ar or pl`);
      break;
    case 'response_target_email_minutes':
    case 'response_target_chat_minutes':
      if (typeof parsed !== 'number' || !Number.isInteger(parsed) || parsed < 1) fail('invalid_input', `${key} must be a whole number of minutes, at least 1`);
      break;
    case 'shop_name':
      if (typeof parsed !== 'string') fail('invalid_input', 'shop_name must be text');
      break;
    default:
      fail('invalid_input', `unknown setting ${JSON.stringify(key)}`);
  }
  s[key] = parsed;
  return parsed;
}

function checkAccount(account: AccountForm): void {
  if (!account.name.trim()) fail('invalid_input', 'the account needs a name');
  if (!/^[^@\s]+@[^@\s]+$/.test(account.email)) fail('invalid_input', `"${account.email}" is not an email address`);
  if (!account.imap_host.trim() || !account.smtp_host.trim()) fail('invalid_input', 'the IMAP and SMTP servers are required');
}

function testAccount(account: AccountForm, password: string): null {
  checkAccount(account);
  if (account.imap_host.endsWith('.invalid') || !account.imap_host.includes('.')) {
    fail('mail_server_unreachable', `cannot reach ${account.imap_host}:${account.imap_port}: no such host`);
  }
  if (!password || password === 'wrong') {
    fail('mail_login', `${account.imap_host} refused the login for ${account.username}: [AUTHENTICATIONFAILED] Invalid credentials`);
  }
  return null;
}

function importKind(kind: ImportKind, path: string): Exclude<ImportKind, 'auto'> {
  if (kind !== 'auto') return kind;
  const lower = path.toLowerCase();
  if (/\.(mbox|eml|mbx)$/.test(lower)) return 'mail';
  if (lower.endsWith('.csv')) return 'orders';
  if (lower.includes('whatsapp') || lower.endsWith('.txt')) return 'whatsapp';
  if (lower.includes('instagram')) return 'instagram';
  if (lower.includes('telegram')) return 'telegram';
  if (lower.endsWith('.json')) return 'messenger';
  return fail('invalid_input', `cannot tell what ${path} is; choose the kind`);
}

function importFile(kind: ImportKind, path: string): ImportOutcome {
  if (!path.trim()) fail('invalid_input', 'no file given');
  if (path.includes('missing')) fail('io', `${path}: No such file or directory (os error 2)`);
  const used = importKind(kind, path);
  const imported = 20 + (path.length % 37);
  return {
    kind: used,
    source: path,
    imported,
    duplicates: path.length % 5,
    problems:
      used === 'orders'
        ? [{ location: `${path}:14`, message: 'no email or phone: order #1077 is not linked to a customer' }]
        : [],
  };
}

export function mockShell<C extends Command>(cmd: C, args: Commands[C]['args']): unknown {
  const s = shell();
  switch (cmd) {
    case 'due_count':
      return pending('due').length;
    case 'followups':
      return pending((args as Commands['followups']['args']).listing);
    case 'add_followup': {
      const a = args as Commands['add_followup']['args'];
      const row: FollowupRow = {
        id: s.nextId++,
        customer_id: a.customerId,
        customer_name: customerName(a.customerId),
        conversation_id: a.conversationId,
        order_id: null,
        order_number: null,
        rule_id: null,
        due_at: futureWhen(a.when),
        reason: a.note,
        state: 'pending',
        notified_at: null,
        created_at: iso(Date.now()),
        flagged: false,
      };
      s.followups.push(row);
      return row;
    }
    case 'finish_followup':
      followup((args as Commands['finish_followup']['args']).id).state = 'done';
      return null;
    case 'cancel_followup':
      followup((args as Commands['cancel_followup']['args']).id).state = 'cancelled';
      return null;
    case 'snooze_followup': {
      const a = args as Commands['snooze_followup']['args'];
      const row = followup(a.id);
      row.due_at = futureWhen(a.when);
      row.flagged = false;
      return row;
    }
    case 'followup_rules':
      return s.rules;
    case 'add_followup_rule': {
      const a = args as Commands['add_followup_rule']['args'];
      if (!a.name.trim()) fail('invalid_input', 'the rule needs a name');
      if (!Number.isInteger(a.days) || a.days < 0) fail('invalid_input', 'days must be a whole number, 0 or more');
      const rule: FollowupRule = {
        id: s.nextId++,
        name: a.name.trim(),
        trigger: a.trigger,
        days: a.days,
        template_id: null,
        template: a.template,
        enabled: true,
        created_at: iso(Date.now()),
      };
      s.rules.push(rule);
      return rule;
    }
    case 'set_followup_rule_enabled': {
      const a = args as Commands['set_followup_rule_enabled']['args'];
      const rule = s.rules.find((r) => r.id === a.id) ?? fail('not_found', `rule ${a.id} not found`);
      rule.enabled = a.enabled;
      return null;
    }
    case 'parse_when':
      return parseWhen((args as Commands['parse_when']['args']).text);
    case 'settings':
      return s.settings;
    case 'set_setting': {
      const a = args as Commands['set_setting']['args'];
      return setSetting(a.key, a.value);
    }
    case 'team':
      return s.team;
    case 'set_me': {
      const a = args as Commands['set_me']['args'];
      const me = s.team.find((m) => m.name.toLowerCase() === a.member.toLowerCase()) ?? fail('not_found', `no team member ${a.member}`);
      for (const m of s.team) m.is_me = m === me;
      return me;
    }
    case 'import_file': {
      const a = args as Commands['import_file']['args'];
      return importFile(a.kind, a.path);
    }
    case 'accounts':
      return s.accounts;
    case 'add_account': {
      const a = args as Commands['add_account']['args'];
      checkAccount(a.account);
      if (s.accounts.some((x) => x.name === a.account.name)) fail('invalid_input', `an account named ${a.account.name} exists`);
      const id = s.nextId++;
      s.accounts.push({ ...a.account, id, password_stored: a.password.length > 0 });
      return id;
    }
    case 'test_account': {
      const a = args as Commands['test_account']['args'];
      return testAccount(a.account, a.password);
    }
    default:
      return undefined;
  }
}
