// Mock backend for the customer screen (customer_view, notes, replies, saved replies, status/snooze/tag/assign, merge/split). Returns undefined for commands it does not know.
//
// It builds on mock.ts's conversations (status, tag and reply changes show in the inbox too)
// and adds what the inbox does not show: orders, notes, identities, attachments, and for the
// first customer a second, email conversation (an HTML email with a remote image and a
// script, a mixed Hebrew/English message) so the timeline interleaves two channels.
//
// Follow-ups and parse_when belong to the shell's mock (mock-shell.ts); the fallbacks here
// run only while it does not answer them, so both screens always share one follow-up list.
import type {
  AttachmentRow,
  ChatReply,
  Command,
  Commands,
  ConversationRow,
  CustomerChange,
  CustomerView,
  FollowupRow,
  IdentityKind,
  IdentityRow,
  MessageRow,
  MoneyTotal,
  NoteRow,
  OrderRow,
  OutboxEntry,
  Rendered,
  TemplateRow,
  TimelineItem,
} from './types';
import { DAY, HOUR, iso } from './mock-time';
import { data, fail } from './mock';
import { mockShell } from './mock-shell';


interface Change extends CustomerChange {
  conversations: number[];
  identities: number[];
  notes: number[];
  orders: number[];
}

interface State {
  now: number;
  /** Conversations only the customer screen knows (not in the inbox list). */
  conversations: ConversationRow[];
  messages: Map<number, MessageRow[]>;
  attachments: AttachmentRow[];
  identities: Map<number, IdentityRow & { customer: number }>;
  names: Map<number, string>;
  mergedInto: Map<number, number>;
  notes: NoteRow[];
  orders: OrderRow[];
  followups: FollowupRow[];
  changes: Change[];
  templates: TemplateRow[];
  nextId: number;
}

let state: State | null = null;

/** Known seed customers by name: their contact details. */
const CONTACTS: Record<string, { email?: string; phone?: string; handle?: string }> = {
  'נועה כהן': { email: 'noa.cohen@example.co.il', phone: '+972501234567' },
  'أحمد الخطيب': { email: 'ahmad.khatib@example.com' },
  'Zofia Wiśniewska': { email: 'zofia.w@example.pl' },
  'Oliver Bennett': { handle: 'oliver.bennett' },
  'יעל לוי': { handle: 'yael_levi_haifa' },
  'Priya Shah': { handle: 'priya.makes' },
  'مريم حداد': { phone: '+96170123456' },
};

const HTML_EMAIL = `<html><head><style>.box{border:1px solid #ddd;padding:12px;border-radius:6px}h1{font-size:18px;color:#2f7aa8}</style>
<script>document.title='pwned';parent.postMessage('script ran','*')</script></head>
<body style="background:#fafafa">
<p>Hi, is the total on this invoice right? I paid with a coupon.</p>
<p>---------- Forwarded message ----------</p>
<h1>Invoice for order #1042</h1>
<div class="box">
<p>Hi Noa,</p>
<p>Thank you for your order! Your <b>Lavender Dream</b> set is on its way.</p>
<p><img src="https://tracker.example.com/pixel.gif?u=noa" width="1" height="1" alt="">
<img src="https://cdn.example.com/candles/lavender.jpg" alt="Lavender Dream candle" width="240"></p>
<p><a href="https://shop.example.com/orders/1042" onclick="alert(1)">View your order</a></p>
</div>
<p style="color:#888;font-size:12px">Shopdesk Candles · Herzl 1, Tel Aviv</p>
</body></html>`;

function seed(): State {
  const now = Date.now();
  const s: State = {
    now,
    conversations: [],
    messages: new Map(),
    attachments: [],
    identities: new Map(),
    names: new Map(),
    mergedInto: new Map(),
    notes: [],
    orders: [],
    followups: [],
    changes: [],
    templates: [],
    nextId: 9_000_000,
  };
  const db = data();
  for (const c of db.conversations) s.names.set(c.customer_id, c.customer_name);

  // Identities from each customer's channels.
  const seen = new Set<string>();
  for (const c of db.conversations) {
    const known = CONTACTS[c.customer_name] ?? {};
    const add = (kind: IdentityKind, value: string, display: string | null = null) => {
      const key = `${c.customer_id}|${kind}|${value}`;
      if (seen.has(key)) return;
      seen.add(key);
      const id = s.nextId++;
      s.identities.set(id, { id, kind, value, display, customer: c.customer_id });
    };
    if (c.channel === 'email') add('email', known.email ?? `customer${c.customer_id}@example.com`);
    else if (c.channel === 'whatsapp') {
      const phone = known.phone ?? `+4420700${String(c.customer_id).padStart(5, '0')}`;
      add('phone', phone, phone.replace(/^(\+\d{3})(\d{2})(\d{3})(\d+)$/, '$1 $2-$3-$4'));
      add('whatsapp', phone);
    } else add(c.channel, known.handle ?? `customer_${c.customer_id}`);
    if (known.email && c.channel !== 'email') add('email', known.email);
  }

  const first = db.conversations.find((c) => c.customer_name === 'נועה כהן');
  if (first) seedNoa(s, first.customer_id, first.customer_name);
  const zofia = db.conversations.find((c) => c.customer_name === 'Zofia Wiśniewska');
  if (zofia) {
    s.orders.push(order(s, zofia.customer_id, zofia.customer_name, '3310', 'PLN', 12_900, 'refunded', 9 * DAY));
  }

  const t = (name: string, language: string, subject: string | null, body: string): void => {
    s.templates.push({ id: s.nextId++, name, language, subject, body, created_at: iso(now - 60 * DAY), updated_at: iso(now - 5 * DAY) });
  };
  t('thanks', 'en', null, 'Hi {customer_name},\n\nThank you for your message! We will get back to you shortly.\n\n{shop_name}');
  t('thanks', 'he', null, 'היי {customer_name},\n\nתודה על ההודעה! נחזור אלייך בהקדם.\n\n{shop_name}');
  t('order-status', 'en', 'Your order #{order_number}', 'Hi {customer_name},\n\nyour order #{order_number} is {order_status}.\n\n{shop_name}');
  t('shipping-times', 'en', null, 'We ship within 2 working days. Delivery takes 3–5 working days in Europe and Israel.');
  t('return-policy', 'pl', 'Zwrot', 'Dzień dobry,\n\nzwroty przyjmujemy do 30 dni od dostawy. Proszę odesłać produkt na adres sklepu.\n\n{shop_name}');
  return s;
}

function order(
  s: State,
  customer: number,
  name: string,
  number: string,
  currency: string,
  total: number,
  status: string,
  ago: number,
): OrderRow {
  const fulfilled = status === 'fulfilled';
  return {
    id: s.nextId++,
    customer_id: customer,
    customer_name: name,
    source: 'shopify',
    number,
    email: null,
    phone: null,
    currency,
    total_minor: total,
    financial_status: fulfilled ? 'paid' : status,
    fulfillment_status: fulfilled ? 'fulfilled' : null,
    created_at: iso(s.now - ago),
    fulfilled_at: fulfilled ? iso(s.now - ago + DAY) : null,
    cancelled_at: null,
  };
}

/** The first customer: an extra email conversation, two orders, a note and a follow-up. */
function seedNoa(s: State, customer: number, name: string): void {
  const now = s.now;
  const id = 1_000_001;
  const msg = (m: Partial<MessageRow> & { ago: number; body_text: string; direction: MessageRow['direction'] }): MessageRow => {
    const mid = s.nextId++;
    const { ago, ...rest } = m;
    return {
      id: mid,
      conversation_id: id,
      channel: 'email',
      author: m.direction === 'in' ? name : 'Dana',
      sent_at: iso(now - ago),
      subject: 'Re: Invoice for order #1042',
      body_html: null,
      rfc_message_id: `<mock-${mid}@shopdesk.invalid>`,
      sent_by_hand: false,
      delivery: null,
      ...rest,
    };
  };
  const rows: MessageRow[] = [
    msg({
      direction: 'in',
      ago: 2 * DAY,
      subject: 'Fwd: Invoice for order #1042',
      body_text:
        'Hi, is the total on this invoice right? I paid with a coupon.\n\n---------- Forwarded message ----------\nInvoice for order #1042\n\nHi Noa,\nThank you for your order! Your Lavender Dream set is on its way.\nView your order: https://shop.example.com/orders/1042',
      body_html: HTML_EMAIL,
    }),
    msg({
      direction: 'in',
      ago: 5 * HOUR,
      subject: 'Re: Invoice for order #1042',
      body_text: 'Hi again,\nתודה על החשבונית! The candle arrived but the box was damaged.\nאפשר להחליף את הקופסה? I attached a photo.\n\nNoa',
    }),
    msg({
      direction: 'out',
      ago: 4 * HOUR,
      subject: 'Re: Invoice for order #1042',
      body_text: 'Hi Noa,\n\nsorry about the box! We are sending a new one today.\n\nDana',
      delivery: 'sent',
    }),
  ];
  s.messages.set(id, rows);
  s.attachments.push(
    { id: s.nextId++, message_id: rows[0].id, filename: 'invoice-1042.pdf', mime_type: 'application/pdf', size: 48_213, inline: false },
    { id: s.nextId++, message_id: rows[1].id, filename: 'קופסה-פגומה.jpg', mime_type: 'image/jpeg', size: 1_734_112, inline: false },
  );
  s.conversations.push({
    id,
    customer_id: customer,
    customer_name: name,
    channel: 'email',
    status: 'pending',
    priority: 'normal',
    subject: 'Invoice for order #1042',
    assignee: 'Dana',
    tags: ['vip'],
    message_count: rows.length,
    message_ids: rows.flatMap((m) => (m.rfc_message_id ? [m.rfc_message_id] : [])),
    last_activity: rows[rows.length - 1].sent_at,
    last_inbound: rows[1].sent_at,
    snoozed_until: null,
    snippet: rows[rows.length - 1].body_text.replace(/\s+/g, ' ').slice(0, 140),
  });
  s.orders.push(
    order(s, customer, name, '1017', 'ILS', 7_900, 'paid', 45 * DAY),
    order(s, customer, name, '1042', 'ILS', 18_990, 'fulfilled', 4 * DAY),
  );
  const whatsapp = data().conversations.find((c) => c.customer_id === customer);
  s.notes.push({
    id: s.nextId++,
    customer_id: customer,
    conversation_id: whatsapp?.id ?? null,
    author: 'Dana',
    body: 'Regular customer — always wants express shipping.\nלקוחה קבועה, לשלוח עם שליח.',
    created_at: iso(now - 3 * DAY),
  });
  s.followups.push({
    id: s.nextId++,
    customer_id: customer,
    customer_name: name,
    conversation_id: whatsapp?.id ?? null,
    order_id: null,
    order_number: '1042',
    rule_id: null,
    due_at: iso(now + DAY),
    reason: 'Check that the courier got the new address',
    state: 'pending',
    notified_at: null,
    created_at: iso(now - HOUR),
    flagged: false,
  });
}

function st(): State {
  state ??= seed();
  return state;
}

// ---- lookups ----

function allConversations(): ConversationRow[] {
  return [...data().conversations, ...st().conversations];
}

function conversation(id: number): ConversationRow {
  return allConversations().find((c) => c.id === id) ?? fail('not_found', `conversation ${id} not found`);
}

function messagesOf(id: number): MessageRow[] {
  const rows = data().messages.get(id) ?? st().messages.get(id);
  if (!rows) fail('not_found', `conversation ${id} not found`);
  return rows;
}

function customerExists(id: number): boolean {
  return st().names.has(id);
}

function identitiesOf(customer: number): IdentityRow[] {
  return [...st().identities.values()].filter((i) => i.customer === customer).map(({ customer: _, ...row }) => row);
}

function phoneOf(customer: number): string | null {
  return identitiesOf(customer).find((i) => i.kind === 'phone' || i.kind === 'whatsapp')?.value ?? null;
}

/** Follow-ups from the shell's mock when it answers, else this file's fallback list. */
function pendingFollowups(): FollowupRow[] {
  const shell = mockShell('followups', { listing: 'pending' });
  return shell === undefined ? st().followups.filter((f) => f.state === 'pending') : (shell as FollowupRow[]);
}

function shellHandles(cmd: 'followups' | 'parse_when'): boolean {
  try {
    return (cmd === 'followups' ? mockShell('followups', { listing: 'pending' }) : mockShell('parse_when', { text: '+1h' })) !== undefined;
  } catch {
    return true; // it answered, with an error
  }
}

function touch(row: ConversationRow, message: MessageRow): void {
  row.message_count += 1;
  row.last_activity = message.sent_at;
  row.snippet = message.body_text.replace(/\s+/g, ' ').trim().slice(0, 140);
  if (message.rfc_message_id) row.message_ids.push(message.rfc_message_id);
}

// ---- commands ----

function customerView(customerId: number): CustomerView {
  const s = st();
  if (!customerExists(customerId)) fail('not_found', `customer ${customerId} not found`);
  const conversations = allConversations()
    .filter((c) => c.customer_id === customerId)
    .sort((a, b) => (a.last_activity < b.last_activity ? 1 : a.last_activity > b.last_activity ? -1 : 0));
  const notes = s.notes.filter((n) => n.customer_id === customerId);
  const orders = s.orders.filter((o) => o.customer_id === customerId);
  const followups = pendingFollowups().filter((f) => f.customer_id === customerId);

  const timeline: TimelineItem[] = [];
  for (const c of conversations) {
    for (const m of messagesOf(c.id)) {
      timeline.push({ kind: 'message', at: m.sent_at, message: m, attachments: s.attachments.filter((a) => a.message_id === m.id) });
    }
  }
  for (const note of notes) timeline.push({ kind: 'note', at: note.created_at, note });
  for (const o of orders) timeline.push({ kind: 'order', at: o.created_at, order: o });
  timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  const totals = new Map<string, number>();
  for (const o of orders) {
    if (o.cancelled_at || o.total_minor === null || !o.currency) continue;
    totals.set(o.currency, (totals.get(o.currency) ?? 0) + o.total_minor);
  }
  const lifetime: MoneyTotal[] = [...totals].map(([currency, total_minor]) => ({ currency, total_minor }));
  const lastPurchase = orders.map((o) => o.created_at).sort().at(-1) ?? null;
  const tags = [...new Set(conversations.flatMap((c) => c.tags))].sort();

  return {
    customer: {
      id: customerId,
      name: s.names.get(customerId) ?? `Customer ${customerId}`,
      language: conversations.some((c) => /[\u0590-\u05ff]/.test(c.customer_name)) ? 'he' : null,
      merged_into: s.mergedInto.get(customerId) ?? null,
      identities: identitiesOf(customerId),
      conversation_ids: conversations.map((c) => c.id),
      order_count: orders.length,
      note_count: notes.length,
      followup_count: followups.length,
      changes: s.changes
        .filter((c) => c.kept === customerId || c.other === customerId)
        .map(({ conversations: _c, identities: _i, notes: _n, orders: _o, ...change }) => change),
    },
    conversations,
    timeline,
    orders,
    notes,
    followups,
    tags,
    lifetime_value: lifetime,
    last_purchase: lastPurchase,
  };
}

function setStatus(a: Commands['set_status']['args']): ConversationRow {
  const row = conversation(a.conversationId);
  row.status = a.status;
  row.snoozed_until = null;
  return row;
}

function snooze(a: Commands['snooze']['args']): ConversationRow {
  const row = conversation(a.conversationId);
  const until = a.until === null ? null : parseWhen(a.until);
  if (until !== null && Date.parse(until) <= Date.now()) fail('invalid_input', `${a.until} is in the past`);
  row.status = 'snoozed';
  row.snoozed_until = until;
  return row;
}

function tag(a: Commands['tag']['args'], add: boolean): ConversationRow {
  const row = conversation(a.conversationId);
  const value = a.tag.trim();
  if (!value) fail('invalid_input', 'the tag is empty');
  const rest = row.tags.filter((x) => x.toLocaleLowerCase() !== value.toLocaleLowerCase());
  row.tags = add ? [...rest, value] : rest;
  return row;
}

function addNote(a: Commands['add_note']['args']): NoteRow {
  if (!a.body.trim()) fail('invalid_input', 'the note is empty');
  if (!customerExists(a.customerId)) fail('not_found', `customer ${a.customerId} not found`);
  const note: NoteRow = {
    id: st().nextId++,
    customer_id: a.customerId,
    conversation_id: a.conversationId,
    author: 'Dana',
    body: a.body,
    created_at: iso(Date.now()),
  };
  st().notes.push(note);
  return note;
}

function newMessage(row: ConversationRow, body: string, extra: Partial<MessageRow>): MessageRow {
  const id = st().nextId++;
  const message: MessageRow = {
    id,
    conversation_id: row.id,
    direction: 'out',
    channel: row.channel,
    author: 'Dana',
    sent_at: iso(Date.now()),
    subject: null,
    body_text: body,
    body_html: null,
    rfc_message_id: null,
    sent_by_hand: false,
    delivery: null,
    ...extra,
  };
  messagesOf(row.id).push(message);
  touch(row, message);
  return message;
}

function reply(a: Commands['reply']['args']): OutboxEntry {
  const row = conversation(a.conversationId);
  if (row.channel !== 'email') fail('invalid_input', `conversation ${row.id} is ${row.channel}; log a chat reply instead`);
  if (!a.draft.body_text.trim()) fail('invalid_input', 'the reply is empty');
  const later = a.draft.send_after ?? null;
  if (later !== null && later <= Date.now()) fail('invalid_input', 'send later: that time has passed');
  const rfc = `<mock-${st().nextId}@shopdesk.invalid>`;
  const subject = row.subject ? (/^re:/i.test(row.subject) ? row.subject : `Re: ${row.subject}`) : null;
  const message = newMessage(row, a.draft.body_text, { subject, rfc_message_id: rfc, delivery: 'queued' });
  for (const path of a.draft.attachments ?? []) {
    st().attachments.push({
      id: st().nextId++,
      message_id: message.id,
      filename: path.split(/[\\/]/).pop() ?? path,
      mime_type: null,
      size: null,
      inline: false,
    });
  }
  // The outbox sends it a moment later (unless it waits for "send later").
  if (later === null) {
    setTimeout(() => (message.delivery = 'sending'), 1500);
    setTimeout(() => (message.delivery = 'sent'), 3000);
  }
  return {
    id: st().nextId++,
    account_id: 1,
    conversation_id: row.id,
    message_id: message.id,
    rfc_message_id: rfc,
    state: 'queued',
    attempts: 0,
    send_after: later === null ? null : iso(later),
    cancel_on_reply: later !== null,
    next_attempt_at: null,
    last_error: null,
    created_at: message.sent_at,
    sent_at: null,
  };
}

function chatReply(a: Commands['chat_reply']['args']): ChatReply {
  const row = conversation(a.conversationId);
  if (!a.body.trim()) fail('invalid_input', 'the reply is empty');
  if (a.how !== 'copy' && a.how !== 'whatsapp') fail('invalid_input', `${JSON.stringify(a.how)}: choose copy or whatsapp`);
  if (row.channel === 'email') fail('invalid_input', `conversation ${row.id} is email; send it with reply`);
  const phone = phoneOf(row.customer_id);
  if (a.how === 'whatsapp' && !phone) {
    fail('invalid_input', `the customer of conversation ${row.id} has no phone number for a WhatsApp link`);
  }
  const message = newMessage(row, a.body, { sent_by_hand: true });
  const link = phone ? `https://wa.me/${phone.replace(/\D/g, '')}?text=${encodeURIComponent(a.body)}` : null;
  return { message_id: message.id, link };
}

function renderTemplate(a: Commands['render_template']['args']): Rendered {
  const versions = st().templates.filter((x) => x.name === a.name);
  if (versions.length === 0) fail('not_found', `no saved reply named ${JSON.stringify(a.name)}`);
  const row = conversation(a.conversationId);
  const hebrew = /[\u0590-\u05ff]/.test(row.customer_name);
  const chosen = versions.find((v) => v.language === (hebrew ? 'he' : 'en')) ?? versions.find((v) => v.language === 'en') ?? versions[0];
  const latest = st()
    .orders.filter((o) => o.customer_id === row.customer_id)
    .sort((x, y) => (x.created_at < y.created_at ? 1 : -1))[0];
  const values: Record<string, string | undefined> = {
    customer_name: row.customer_name.split(' ')[0],
    shop_name: 'Shopdesk Candles',
    order_number: latest?.number,
    order_status: latest ? (latest.fulfillment_status ?? latest.financial_status ?? undefined) : undefined,
  };
  const fill = (text: string): string =>
    text.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) {
        fail('missing_template_value', `saved reply ${JSON.stringify(a.name)} needs {${name}}, which this conversation does not have`);
      }
      return value;
    });
  return { name: chosen.name, language: chosen.language, subject: chosen.subject ? fill(chosen.subject) : null, body: fill(chosen.body) };
}

function saveTemplate(a: Commands['save_template']['args']): TemplateRow {
  const s = st();
  const now = iso(Date.now());
  const existing = s.templates.find((x) => x.name === a.name && x.language === a.language);
  if (existing) {
    Object.assign(existing, { subject: a.subject, body: a.body, updated_at: now });
    return existing;
  }
  const row: TemplateRow = { id: s.nextId++, name: a.name, language: a.language, subject: a.subject, body: a.body, created_at: now, updated_at: now };
  s.templates.push(row);
  return row;
}

// ---- merge / split / undo ----

function move(change: Change, from: number, to: number): void {
  const s = st();
  const name = s.names.get(to) ?? '';
  for (const c of allConversations()) {
    if (change.conversations.includes(c.id)) {
      c.customer_id = to;
      c.customer_name = name;
    }
  }
  for (const i of s.identities.values()) if (change.identities.includes(i.id)) i.customer = to;
  for (const n of s.notes) if (change.notes.includes(n.id)) n.customer_id = to;
  for (const o of s.orders) {
    if (change.orders.includes(o.id)) {
      o.customer_id = to;
      o.customer_name = name;
    }
  }
  void from;
}

function mergeCustomers(a: Commands['merge_customers']['args']): number {
  const s = st();
  if (a.keep === a.absorbed) fail('invalid_input', 'a customer cannot be merged into itself');
  for (const id of [a.keep, a.absorbed]) {
    if (!customerExists(id) || s.mergedInto.has(id)) fail('not_found', `customer ${id} not found`);
  }
  const change: Change = {
    id: s.nextId++,
    kind: 'merge',
    kept: a.keep,
    other: a.absorbed,
    at: iso(Date.now()),
    undone_at: null,
    conversations: allConversations().filter((c) => c.customer_id === a.absorbed).map((c) => c.id),
    identities: [...s.identities.values()].filter((i) => i.customer === a.absorbed).map((i) => i.id),
    notes: s.notes.filter((n) => n.customer_id === a.absorbed).map((n) => n.id),
    orders: s.orders.filter((o) => o.customer_id === a.absorbed).map((o) => o.id),
  };
  move(change, a.absorbed, a.keep);
  s.mergedInto.set(a.absorbed, a.keep);
  s.changes.push(change);
  return change.id;
}

const CHANNEL_OF: Partial<Record<IdentityKind, string>> = {
  email: 'email',
  phone: 'whatsapp',
  whatsapp: 'whatsapp',
  messenger: 'messenger',
  instagram: 'instagram',
  telegram: 'telegram',
};

function splitCustomer(a: Commands['split_customer']['args']): { customer: number; change: number } {
  const s = st();
  const identity = s.identities.get(Number(a.identity));
  if (!identity || identity.customer !== a.customerId) fail('not_found', `customer ${a.customerId} has no identity ${a.identity}`);
  const others = [...s.identities.values()].filter((i) => i.customer === a.customerId && i.id !== identity.id);
  if (others.length === 0) fail('invalid_input', 'the last identity of a customer cannot be split off');
  // A phone and its WhatsApp handle travel together.
  const together = others.filter((i) => CHANNEL_OF[i.kind] === CHANNEL_OF[identity.kind] && i.value === identity.value);
  const channel = CHANNEL_OF[identity.kind];
  const stays = others.some((i) => CHANNEL_OF[i.kind] === channel && !together.includes(i));
  const newId = Math.max(...s.names.keys()) + 1;
  s.names.set(newId, s.names.get(a.customerId) ?? `Customer ${newId}`);
  const change: Change = {
    id: s.nextId++,
    kind: 'split',
    kept: a.customerId,
    other: newId,
    at: iso(Date.now()),
    undone_at: null,
    conversations: stays ? [] : allConversations().filter((c) => c.customer_id === a.customerId && c.channel === channel).map((c) => c.id),
    identities: [identity.id, ...together.map((i) => i.id)],
    notes: [],
    orders: [],
  };
  move(change, a.customerId, newId);
  s.changes.push(change);
  return { customer: newId, change: change.id };
}

function undoChange(a: Commands['undo_customer_change']['args']): CustomerChange {
  const s = st();
  const change = s.changes.find((c) => c.id === a.change) ?? fail('not_found', `change ${a.change} not found`);
  if (change.undone_at) fail('invalid_input', `change ${a.change} was already undone`);
  if (change.kind === 'merge') {
    move(change, change.kept, change.other);
    s.mergedInto.delete(change.other);
  } else {
    move(change, change.other, change.kept);
  }
  change.undone_at = iso(Date.now());
  const { conversations: _c, identities: _i, notes: _n, orders: _o, ...row } = change;
  return row;
}

// ---- follow-up and time fallbacks (used only while mock-shell.ts does not answer) ----

/** Roughly the backend's reading of "when": +30m / +2h / +3d / +1w, today/tomorrow [HH:MM], a local date [time], RFC 3339. */
function parseWhen(text: string): string {
  const input = text.trim();
  const usage = "use RFC 3339 (2026-12-01T09:00:00Z), a duration (+30m, +2h, +3d, +1w), 'today 17:00', 'tomorrow 9:00' or a local '2026-12-24 18:00'";
  if (!input) fail('invalid_input', "no time given; use RFC 3339, +2h, +3d, 'tomorrow 9:00' or '2026-12-24 18:00'");
  const bad = () => fail('invalid_input', `cannot read ${JSON.stringify(input)} as a time; ${usage}`);
  const now = new Date();
  if (input.startsWith('+')) {
    const parts = [...input.slice(1).matchAll(/(\d+)([mhdw])/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== input.slice(1)) bad();
    const at = new Date(now);
    for (const [, n, unit] of parts) {
      const k = Number(n);
      if (unit === 'm') at.setMinutes(at.getMinutes() + k);
      else if (unit === 'h') at.setHours(at.getHours() + k);
      else at.setDate(at.getDate() + k * (unit === 'w' ? 7 : 1));
    }
    return iso(at.getTime());
  }
  const day = /^(today|tomorrow)(?:\s+(\d{1,2}):(\d{2}))?$/i.exec(input);
  if (day) {
    const at = new Date(now);
    if (day[1].toLowerCase() === 'tomorrow') at.setDate(at.getDate() + 1);
    const hour = day[2] === undefined ? 9 : Number(day[2]);
    const minute = day[3] === undefined ? 0 : Number(day[3]);
    if (hour > 23 || minute > 59 || (day[1].toLowerCase() === 'today' && day[2] === undefined)) bad();
    at.setHours(hour, minute, 0, 0);
    return iso(at.getTime());
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?$/.exec(input);
  if (local) {
    const [, y, mo, d, h, mi] = local;
    const at = new Date(Number(y), Number(mo) - 1, Number(d), h === undefined ? 9 : Number(h), mi === undefined ? 0 : Number(mi));
    if (Number.isNaN(at.getTime()) || at.getMonth() !== Number(mo) - 1) bad();
    return iso(at.getTime());
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(input)) {
    const ms = Date.parse(input);
    if (!Number.isNaN(ms)) return iso(ms);
  }
  return bad();
}

function addFollowup(a: Commands['add_followup']['args']): FollowupRow {
  const s = st();
  if (!customerExists(a.customerId)) fail('not_found', `customer ${a.customerId} not found`);
  const due = parseWhen(a.when);
  if (Date.parse(due) <= Date.now()) fail('invalid_input', `${a.when} is in the past`);
  const row: FollowupRow = {
    id: s.nextId++,
    customer_id: a.customerId,
    customer_name: s.names.get(a.customerId) ?? '',
    conversation_id: a.conversationId,
    order_id: null,
    order_number: null,
    rule_id: null,
    due_at: due,
    reason: a.note,
    state: 'pending',
    notified_at: null,
    created_at: iso(Date.now()),
    flagged: false,
  };
  s.followups.push(row);
  s.followups.sort((x, y) => (x.due_at < y.due_at ? -1 : 1));
  return row;
}

function followup(id: number): FollowupRow {
  const row = st().followups.find((f) => f.id === id) ?? fail('not_found', `follow-up ${id} not found`);
  if (row.state !== 'pending') fail('invalid_input', `follow-up ${id} is ${row.state}`);
  return row;
}

function followupFallback(cmd: Command, args: unknown): unknown {
  const s = st();
  switch (cmd) {
    case 'followups': {
      const a = args as Commands['followups']['args'];
      const endOfDay = new Date();
      endOfDay.setHours(23, 59, 59, 999);
      return s.followups.filter((f) => f.state === 'pending' && (a.listing === 'pending' || Date.parse(f.due_at) <= endOfDay.getTime()));
    }
    case 'add_followup':
      return addFollowup(args as Commands['add_followup']['args']);
    // The backend answers null; mock.ts would read null from here as "not handled", so the
    // fallback answers with the row (the UI ignores the result).
    case 'finish_followup': {
      const row = followup((args as Commands['finish_followup']['args']).id);
      row.state = 'done';
      return row;
    }
    case 'cancel_followup': {
      const row = followup((args as Commands['cancel_followup']['args']).id);
      row.state = 'cancelled';
      return row;
    }
    case 'snooze_followup': {
      const a = args as Commands['snooze_followup']['args'];
      const row = followup(a.id);
      row.due_at = parseWhen(a.when);
      return row;
    }
    default:
      return undefined;
  }
}

export function mockCustomer<C extends Command>(cmd: C, args: Commands[C]['args']): unknown {
  switch (cmd) {
    case 'customer_view':
      return customerView((args as Commands['customer_view']['args']).customerId);
    case 'set_status':
      return setStatus(args as Commands['set_status']['args']);
    case 'snooze':
      return snooze(args as Commands['snooze']['args']);
    case 'tag':
      return tag(args as Commands['tag']['args'], true);
    case 'untag':
      return tag(args as Commands['untag']['args'], false);
    case 'assign': {
      const a = args as Commands['assign']['args'];
      const row = conversation(a.conversationId);
      row.assignee = a.member;
      return row;
    }
    case 'add_note':
      return addNote(args as Commands['add_note']['args']);
    case 'reply':
      return reply(args as Commands['reply']['args']);
    case 'chat_reply':
      return chatReply(args as Commands['chat_reply']['args']);
    case 'templates':
      return st().templates;
    case 'render_template':
      return renderTemplate(args as Commands['render_template']['args']);
    case 'save_template':
      return saveTemplate(args as Commands['save_template']['args']);
    case 'merge_customers':
      return mergeCustomers(args as Commands['merge_customers']['args']);
    case 'split_customer':
      return splitCustomer(args as Commands['split_customer']['args']);
    case 'undo_customer_change':
      return undoChange(args as Commands['undo_customer_change']['args']);
    case 'parse_when':
      return shellHandles('parse_when') ? undefined : parseWhen((args as Commands['parse_when']['args']).text);
    case 'followups':
    case 'add_followup':
    case 'finish_followup':
    case 'cancel_followup':
    case 'snooze_followup':
      return shellHandles('followups') ? undefined : followupFallback(cmd, args);
    default:
      return undefined;
  }
}
