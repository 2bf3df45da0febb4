// A small built-in dataset so the window works in a plain browser (no Tauri): `npm run dev`,
// `vite preview`, screenshots and UI tests. api.ts loads this module only outside Tauri.
//
// Query parameters (dev aids only):
//   ?mock=N        add N generated conversations (to try paging / scrolling)
//   ?mock=empty    an empty shop
//   ?mock=error    every call fails like a backend error
import type {
  AppError,
  Channel,
  Command,
  Commands,
  ConversationFilter,
  ConversationRow,
  Direction,
  MessageRow,
  Priority,
  SearchHit,
  Stats,
  Status,
} from './types';
import { mockCustomer } from './mock-customer';
import { customersWithFollowupsDue, mockShell, myName } from './mock-shell';

interface MockMessage {
  direction: Direction;
  author?: string | null;
  /** Minutes before now. */
  ago: number;
  text: string;
  subject?: string;
}

interface MockConversation {
  customer: string;
  channel: Channel;
  status: Status;
  priority?: Priority;
  subject?: string;
  assignee?: string;
  tags?: string[];
  snoozedForMinutes?: number;
  messages: MockMessage[];
}

const HOUR = 60;
const DAY = 24 * HOUR;

const CONVERSATIONS: MockConversation[] = [
  {
    customer: 'נועה כהן',
    channel: 'whatsapp',
    status: 'open',
    priority: 'high',
    tags: ['shipping'],
    messages: [
      { direction: 'in', ago: 3 * HOUR, text: 'שלום, הזמנתי ביום ראשון את הערכה של Lavender Dream ועדיין לא קיבלתי מספר מעקב.' },
      {
        direction: 'out',
        author: 'Dana',
        ago: 2 * HOUR + 40,
        text: 'היי נועה! ההזמנה #1042 יצאה אתמול.\n\nמספר המעקב: IL-88412-TX\nאפשר לעקוב באתר של דואר ישראל.',
      },
      { direction: 'in', ago: 12, text: 'תודה רבה! 🙏\nרק שאלה — אפשר לשנות את הכתובת לרחוב הרצל 12, תל אביב?' },
    ],
  },
  {
    customer: 'أحمد الخطيب',
    channel: 'email',
    status: 'pending',
    subject: 'استفسار عن الطلب رقم 2291',
    assignee: 'Dana',
    messages: [
      {
        direction: 'in',
        ago: 26 * HOUR,
        subject: 'استفسار عن الطلب رقم 2291',
        text: 'مرحباً،\n\nطلبت شمعتين من نوع Cedar & Amber لكن وصلتني شمعة واحدة فقط.\nهل يمكنكم إرسال الثانية؟\n\nمع الشكر،\nأحمد',
      },
      {
        direction: 'out',
        author: 'Dana',
        ago: 25 * HOUR,
        subject: 'Re: استفسار عن الطلب رقم 2291',
        text: 'أهلاً أحمد،\n\nنعتذر عن الخطأ! سنرسل الشمعة الثانية اليوم.\n\nDana — Shopdesk Candles',
      },
      { direction: 'system', ago: 25 * HOUR - 1, text: 'Status changed to pending' },
      { direction: 'in', ago: 50, subject: 'Re: استفسار عن الطلب رقم 2291', text: 'شكراً جزيلاً، بانتظار الشحنة.' },
    ],
  },
  {
    customer: 'Zofia Wiśniewska',
    channel: 'email',
    status: 'open',
    priority: 'urgent',
    subject: 'Zwrot zamówienia #3310',
    tags: ['return'],
    messages: [
      {
        direction: 'in',
        ago: 2 * DAY,
        subject: 'Zwrot zamówienia #3310',
        text: 'Dzień dobry,\n\nchciałabym zwrócić świecę „Leśny poranek” — zapach jest zbyt intensywny.\nJak mam to zrobić?\n\nPozdrawiam serdecznie,\nZofia Wiśniewska',
      },
      {
        direction: 'out',
        author: 'Marek',
        ago: 2 * DAY - 90,
        subject: 'Re: Zwrot zamówienia #3310',
        text: 'Dzień dobry Pani Zofio,\n\nproszę odesłać świecę na adres sklepu, a zwrócimy pieniądze w ciągu 14 dni.\n\nPozdrawiam,\nMarek',
      },
      { direction: 'in', ago: 5 * HOUR, subject: 'Re: Zwrot zamówienia #3310', text: 'Paczka wysłana dziś rano. Numer nadania: PL 0045 2231 77.' },
    ],
  },
  {
    customer: 'Oliver Bennett',
    channel: 'messenger',
    status: 'snoozed',
    snoozedForMinutes: 2 * DAY,
    messages: [
      { direction: 'in', ago: 3 * DAY, text: 'Hi! Do you ship to Ireland?' },
      { direction: 'out', author: 'Dana', ago: 3 * DAY - 20, text: 'Hi Oliver, yes we do — 3–5 working days, €6.90.' },
      {
        direction: 'in',
        ago: 3 * DAY - 15,
        text: 'Great, thanks.\n\nI’ll order after payday, can you remind me on Friday?',
      },
      { direction: 'system', ago: 3 * DAY - 14, text: 'Snoozed for 2 days by Dana' },
    ],
  },
  {
    customer: 'יעל לוי',
    channel: 'telegram',
    status: 'open',
    tags: ['wholesale'],
    messages: [
      {
        direction: 'in',
        ago: 6 * DAY,
        text: 'Hi, I run a small shop in Haifa.\nאני מעוניינת בהזמנה סיטונאית של 40 נרות Vanilla Bean.\nIs there a discount for 40+?',
      },
      { direction: 'out', author: 'Marek', ago: 6 * DAY - 30, text: 'Hi Yael! Yes — 15% off from 30 pieces. I’ll send a quote today.' },
    ],
  },
  {
    customer: 'Priya Shah',
    channel: 'instagram',
    status: 'closed',
    messages: [
      { direction: 'in', ago: 40 * DAY, text: 'Love the new autumn collection 😍 is the Pumpkin Spice one vegan?' },
      { direction: 'out', author: 'Dana', ago: 40 * DAY - 10, text: 'Thank you! Yes, all our candles are soy wax and vegan.' },
      { direction: 'system', ago: 40 * DAY - 9, text: 'Closed by Dana' },
    ],
  },
  {
    customer: 'مريم حداد',
    channel: 'whatsapp',
    status: 'open',
    messages: [
      {
        direction: 'in',
        ago: 400 * DAY,
        text: 'مساء الخير 🌙\n\nهل تتوفر مجموعة الهدايا للعيد؟',
      },
    ],
  },
];

const FILLER_NAMES = ['Anna Kowalska', 'דוד מזרחי', 'ليلى منصور', 'James Walker', 'Piotr Nowak', 'שירה אברהם', 'Omar Farouk', 'Emma Clarke'];
const FILLER_TEXTS = [
  'Is this still in stock?',
  'האם אפשר לאסוף מהחנות?',
  'متى سيصل طلبي؟',
  'Czy mogę zmienić rozmiar zamówienia?',
  'Thanks, got it!\n\nHave a nice day.',
];

export interface Db {
  conversations: ConversationRow[];
  messages: Map<number, MessageRow[]>;
  customers: number;
}

function iso(minutesAgo: number, now: number): string {
  return new Date(now - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 140 ? flat.slice(0, 139) + '…' : flat;
}

function build(extra: number, now: number): Db {
  const source: MockConversation[] = [...CONVERSATIONS];
  for (let i = 0; i < extra; i++) {
    const channels: Channel[] = ['email', 'whatsapp', 'messenger', 'instagram', 'telegram'];
    const statuses: Status[] = ['open', 'pending', 'snoozed', 'closed'];
    source.push({
      customer: `${FILLER_NAMES[i % FILLER_NAMES.length]} ${i + 1}`,
      channel: channels[i % channels.length],
      status: statuses[i % statuses.length],
      subject: i % 5 === 0 ? `Order #${5000 + i}` : undefined,
      messages: [
        { direction: 'in', ago: 7 * DAY + i * 37, text: FILLER_TEXTS[i % FILLER_TEXTS.length] },
        { direction: 'out', author: 'Dana', ago: 7 * DAY + i * 37 - 5, text: 'Thanks for your message, we’ll get back to you shortly.' },
      ],
    });
  }

  const customerIds = new Map<string, number>();
  const conversations: ConversationRow[] = [];
  const messages = new Map<number, MessageRow[]>();
  let messageId = 1;
  source.forEach((c, index) => {
    const id = index + 1;
    let customerId = customerIds.get(c.customer);
    if (customerId === undefined) {
      customerId = customerIds.size + 1;
      customerIds.set(c.customer, customerId);
    }
    const rows: MessageRow[] = [...c.messages]
      .sort((a, b) => b.ago - a.ago)
      .map((m) => {
        const mid = messageId++;
        return {
          id: mid,
          conversation_id: id,
          direction: m.direction,
          channel: c.channel,
          author: m.direction === 'in' ? c.customer : (m.author ?? null),
          sent_at: iso(m.ago, now),
          subject: m.subject ?? null,
          body_text: m.text,
          body_html: null,
          rfc_message_id: c.channel === 'email' ? `<mock-${mid}@shopdesk.invalid>` : null,
          sent_by_hand: false,
        delivery: null,
        };
      });
    messages.set(id, rows);
    const last = rows[rows.length - 1];
    const lastInbound = [...rows].reverse().find((m) => m.direction === 'in');
    const lastVisible = [...rows].reverse().find((m) => m.direction !== 'system') ?? last;
    conversations.push({
      id,
      customer_id: customerId,
      customer_name: c.customer,
      channel: c.channel,
      status: c.status,
      priority: c.priority ?? 'normal',
      subject: c.subject ?? null,
      assignee: c.assignee ?? null,
      tags: c.tags ?? [],
      message_count: rows.length,
      message_ids: rows.flatMap((m) => (m.rfc_message_id ? [m.rfc_message_id] : [])),
      last_activity: last.sent_at,
      last_inbound: lastInbound?.sent_at ?? null,
      snoozed_until: c.snoozedForMinutes ? iso(-c.snoozedForMinutes, now) : null,
      snippet: snippetOf(lastVisible.body_text),
    });
  });
  conversations.sort((a, b) => (a.last_activity < b.last_activity ? 1 : a.last_activity > b.last_activity ? -1 : b.id - a.id));
  return { conversations, messages, customers: customerIds.size };
}

type Mode = { kind: 'normal'; extra: number } | { kind: 'empty' } | { kind: 'error' };

function mode(): Mode {
  const value = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get('mock');
  if (value === 'empty') return { kind: 'empty' };
  if (value === 'error') return { kind: 'error' };
  const n = value ? Number.parseInt(value, 10) : 0;
  return { kind: 'normal', extra: Number.isFinite(n) && n > 0 ? Math.min(n, 100_000) : 0 };
}

let db: Db | null = null;

export function data(): Db {
  if (!db) {
    const m = mode();
    db = m.kind === 'empty' ? { conversations: [], messages: new Map(), customers: 0 } : build(m.kind === 'normal' ? m.extra : 0, Date.now());
  }
  return db;
}

export function fail(code: string, message: string): never {
  const error: AppError = { code, message };
  throw error;
}

/** The customer wrote last and has no answer yet (as the backend's `waiting`). */
function isWaiting(c: ConversationRow): boolean {
  return c.status !== 'closed' && c.last_inbound !== null && c.last_inbound >= c.last_activity;
}

function listConversations(filter: ConversationFilter): ConversationRow[] {
  const tag = filter.tag?.trim().toLocaleLowerCase();
  const assignee = filter.assignee === 'me' ? (myName() ?? '') : filter.assignee;
  const due = filter.followups_due ? customersWithFollowupsDue() : null;
  const rows = data().conversations.filter(
    (c) =>
      (filter.status === undefined || c.status === filter.status) &&
      (filter.channel === undefined || c.channel === filter.channel) &&
      (filter.customer === undefined || c.customer_id === filter.customer) &&
      (!tag || c.tags.some((t) => t.toLocaleLowerCase() === tag)) &&
      (assignee === undefined ||
        (assignee === 'none' ? c.assignee === null : c.assignee?.toLocaleLowerCase() === assignee.toLocaleLowerCase())) &&
      (!filter.waiting || isWaiting(c)) &&
      (!due || due.has(c.customer_id)),
  );
  const offset = filter.offset ?? 0;
  return filter.limit === undefined ? rows.slice(offset) : rows.slice(offset, offset + filter.limit);
}

function conversationMessages(conversationId: number): MessageRow[] {
  const rows = data().messages.get(conversationId);
  if (!rows) fail('not_found', `conversation ${conversationId} not found`);
  return rows;
}

function stats(): Stats {
  const d = data();
  let messages = 0;
  for (const rows of d.messages.values()) messages += rows.length;
  const followupsDue = d.conversations.filter((c) => c.status === 'snoozed').length;
  return { customers: d.customers, conversations: d.conversations.length, messages, orders: 12, followups_due: followupsDue };
}

/** Splits "from:anna tag:vip refund" into operators and the words left. */
function parseQuery(query: string): { ops: Map<string, string>; words: string } {
  const ops = new Map<string, string>();
  const words = query
    .replace(/\b(from|channel|status|tag|before|after):("[^"]*"|\S+)/gi, (_, op: string, value: string) => {
      ops.set(op.toLowerCase(), value.replace(/^"|"$/g, '').toLocaleLowerCase());
      return ' ';
    })
    .trim()
    .toLocaleLowerCase();
  return { ops, words };
}

function search(query: string, limit: number): SearchHit[] {
  const { ops, words } = parseQuery(query);
  if (!words && ops.size === 0) return [];
  const d = data();
  const hits: SearchHit[] = [];
  const from = ops.get('from');
  const before = ops.get('before');
  const after = ops.get('after');
  for (const c of d.conversations) {
    if (ops.has('channel') && c.channel !== ops.get('channel')) continue;
    if (ops.has('status') && c.status !== ops.get('status')) continue;
    if (ops.has('tag') && !c.tags.some((t) => t.toLocaleLowerCase() === ops.get('tag'))) continue;
    for (const m of d.messages.get(c.id) ?? []) {
      if (hits.length >= limit) return hits;
      if (m.direction === 'system') continue;
      if (from && !(m.author ?? '').toLocaleLowerCase().includes(from)) continue;
      if (before && m.sent_at.slice(0, 10) >= before) continue;
      if (after && m.sent_at.slice(0, 10) <= after) continue;
      if (!words || m.body_text.toLocaleLowerCase().includes(words)) {
        hits.push({
          message_id: m.id,
          conversation_id: c.id,
          customer_id: c.customer_id,
          customer_name: c.customer_name,
          channel: c.channel,
          author: m.author,
          sent_at: m.sent_at,
          snippet: snippetOf(m.body_text),
        });
      }
    }
  }
  return hits;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The mock backend: same commands, arguments and results as the Rust one. */
export async function mockInvoke<C extends Command>(cmd: C, args: Commands[C]['args']): Promise<Commands[C]['result']> {
  await delay(60);
  if (mode().kind === 'error') fail('database', 'Mock backend: the database could not be opened (?mock=error).');
  // Deep copies, as IPC would give.
  const result = ((): unknown => {
    switch (cmd) {
      case 'list_conversations':
        return listConversations((args as Commands['list_conversations']['args']).filter);
      case 'conversation_messages':
        return conversationMessages((args as Commands['conversation_messages']['args']).conversationId);
      case 'stats':
        return stats();
      case 'search': {
        const a = args as Commands['search']['args'];
        return search(a.query, a.limit);
      }
      default: {
        // The customer screen's and the shell's commands live in their own mock files.
        const handled = mockCustomer(cmd, args) ?? mockShell(cmd, args);
        return handled === undefined ? fail('ipc', `unknown command ${String(cmd)}`) : handled;
      }
    }
  })();
  return structuredClone(result) as Commands[C]['result'];
}
