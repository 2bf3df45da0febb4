//! What the desktop screens show, assembled from the store in one call each: the customer
//! screen (timeline + sidebar) and the search box with operators.

use crate::{App, AppError, ErrorCode, Result};
use serde::Serialize;
use shopdesk_core::search::parse_search;
use shopdesk_core::{CustomerId, Millis};
use shopdesk_store::time::{ser_opt_rfc3339, ser_rfc3339};
use shopdesk_store::{
    AttachmentRow, ConversationFilter, ConversationRow, CustomerDetail, FollowupFilter, FollowupRow, FollowupState, MessageRow,
    NoteRow, OrderRow, SearchHit,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One entry of a customer's timeline.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineItem {
    Message {
        #[serde(serialize_with = "ser_rfc3339")]
        at: Millis,
        message: MessageRow,
        attachments: Vec<AttachmentRow>,
    },
    Note {
        #[serde(serialize_with = "ser_rfc3339")]
        at: Millis,
        note: NoteRow,
    },
    Order {
        #[serde(serialize_with = "ser_rfc3339")]
        at: Millis,
        order: OrderRow,
    },
}

impl TimelineItem {
    fn at(&self) -> Millis {
        match self {
            TimelineItem::Message { at, .. } | TimelineItem::Note { at, .. } | TimelineItem::Order { at, .. } => *at,
        }
    }

    /// Ties at the same instant: the order comes first (it is why people write), then
    /// messages, then notes about them.
    fn rank(&self) -> u8 {
        match self {
            TimelineItem::Order { .. } => 0,
            TimelineItem::Message { .. } => 1,
            TimelineItem::Note { .. } => 2,
        }
    }
}

/// Lifetime value in one currency.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MoneyTotal {
    pub currency: String,
    pub total_minor: i64,
}

/// Everything the customer screen shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerView {
    pub customer: CustomerDetail,
    /// Its conversations (own and group chats), newest activity first.
    pub conversations: Vec<ConversationRow>,
    /// Messages of all its conversations, notes and orders, oldest first.
    pub timeline: Vec<TimelineItem>,
    pub orders: Vec<OrderRow>,
    pub notes: Vec<NoteRow>,
    /// Pending follow-ups, soonest first.
    pub followups: Vec<FollowupRow>,
    /// Tags over all its conversations, sorted.
    pub tags: Vec<String>,
    pub lifetime_value: Vec<MoneyTotal>,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub last_purchase: Option<Millis>,
}

/// Interleaves messages (with their attachments), notes and orders in time order.
pub fn build_timeline(
    messages: Vec<MessageRow>,
    attachments: Vec<AttachmentRow>,
    notes: &[NoteRow],
    orders: &[OrderRow],
) -> Vec<TimelineItem> {
    let mut by_message: HashMap<_, Vec<AttachmentRow>> = HashMap::new();
    for a in attachments {
        by_message.entry(a.message_id).or_default().push(a);
    }
    let mut items: Vec<TimelineItem> = Vec::with_capacity(messages.len() + notes.len() + orders.len());
    for message in messages {
        let attachments = by_message.remove(&message.id).unwrap_or_default();
        items.push(TimelineItem::Message { at: message.sent_at, message, attachments });
    }
    items.extend(notes.iter().map(|n| TimelineItem::Note { at: n.created_at, note: n.clone() }));
    items.extend(orders.iter().map(|o| TimelineItem::Order { at: o.created_at, order: o.clone() }));
    // Stable: messages keep their (sent_at, id) order from the store within a conversation.
    items.sort_by_key(|i| (i.at(), i.rank()));
    items
}

/// Sum of order totals per currency (cancelled orders left out) and the newest order.
pub fn lifetime_value(orders: &[OrderRow]) -> (Vec<MoneyTotal>, Option<Millis>) {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut last = None;
    for o in orders.iter().filter(|o| o.cancelled_at.is_none()) {
        if let (Some(currency), Some(total)) = (&o.currency, o.total_minor) {
            *totals.entry(currency.clone()).or_default() += total;
        }
        last = last.max(Some(o.created_at));
    }
    let totals = totals.into_iter().map(|(currency, total_minor)| MoneyTotal { currency, total_minor }).collect();
    (totals, last)
}

/// A sender's file name as a safe single path component: no directories, no control
/// characters, not hidden, not empty.
pub fn safe_file_name(name: &str, id: i64) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() { format!("attachment-{id}") } else { cleaned.chars().take(200).collect() }
}

impl App {
    /// The customer screen: one customer's conversations across channels as one timeline,
    /// with orders, notes, pending follow-ups and tags for the sidebar.
    pub fn customer_view(&self, id: CustomerId) -> Result<CustomerView> {
        let customer = self.store.customer(id)?;
        let conversations = self.store.conversations(&ConversationFilter { customer: Some(id), ..Default::default() })?;
        let mut messages: Vec<MessageRow> = Vec::new();
        let mut attachments = Vec::new();
        for c in &conversations {
            messages.extend(self.store.messages(c.id)?);
            attachments.extend(self.store.conversation_attachments(c.id)?);
        }
        let orders = self.store.orders(Some(id))?;
        let notes = self.store.notes(id)?;
        let followups: Vec<FollowupRow> = self
            .store
            .followups(FollowupFilter::Customer(id))?
            .into_iter()
            .filter(|f| f.state == FollowupState::Pending)
            .collect();
        let tags: BTreeSet<String> = conversations.iter().flat_map(|c| c.tags.iter().cloned()).collect();
        let (lifetime_value, last_purchase) = lifetime_value(&orders);
        let timeline = build_timeline(messages, attachments, &notes, &orders);
        Ok(CustomerView {
            customer,
            conversations,
            timeline,
            orders,
            notes,
            followups,
            tags: tags.into_iter().collect(),
            lifetime_value,
            last_purchase,
        })
    }

    /// A copy of attachment `id` under `dir`, named as the sender named it (made safe as
    /// a file name), for opening it with the desktop's viewer or keeping it. An existing
    /// file of that name gets a ` (2)`-style suffix, never overwritten.
    pub fn export_attachment(&self, id: i64, dir: &std::path::Path) -> Result<std::path::PathBuf> {
        let row = self.store.attachment(id)?;
        let stored = row
            .sha256
            .as_deref()
            .and_then(|sha| self.store.attachment_file(sha))
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("attachment {id}: its file was not kept (too large or unreadable when imported)")))?;
        std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
        let name = safe_file_name(row.filename.as_deref().unwrap_or(""), id);
        let mut target = dir.join(&name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
            _ => (name.clone(), String::new()),
        };
        let mut n = 2;
        while target.exists() {
            target = dir.join(format!("{stem} ({n}){ext}"));
            n += 1;
        }
        std::fs::copy(&stored, &target).map_err(|e| AppError::io(&target, e))?;
        Ok(target)
    }

    /// The search box: free words full-text, plus `from:`, `channel:`, `status:`, `tag:`,
    /// `before:` and `after:` (dates in the shop's time zone).
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let parsed = parse_search(query, &self.host.time_zone()).map_err(|e| AppError::new(ErrorCode::InvalidInput, e.to_string()))?;
        Ok(self.store.search_query(&parsed, limit)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopdesk_core::{Channel, ConversationId, Direction, MessageId};

    fn message(id: i64, conversation: i64, channel: Channel, at: Millis) -> MessageRow {
        MessageRow {
            id: MessageId(id),
            conversation_id: ConversationId(conversation),
            direction: Direction::In,
            channel,
            author: None,
            sent_at: at,
            subject: None,
            body_text: format!("m{id}"),
            body_html: None,
            rfc_message_id: None,
            sent_by_hand: false,
            delivery: None,
        }
    }

    fn order(number: &str, at: Millis, currency: &str, total: i64, cancelled: bool) -> OrderRow {
        OrderRow {
            id: at,
            customer_id: None,
            customer_name: None,
            source: "shopify".into(),
            number: number.into(),
            email: None,
            phone: None,
            currency: Some(currency.into()),
            total_minor: Some(total),
            financial_status: None,
            fulfillment_status: None,
            created_at: at,
            fulfilled_at: None,
            cancelled_at: cancelled.then_some(at + 1),
            lines: Vec::new(),
        }
    }

    /// Email and chat messages of different conversations interleave by time, an order
    /// sorts before a message at the same instant, and attachments stay with their message.
    #[test]
    fn timeline_interleaves_channels_in_time_order() {
        let messages = vec![
            message(1, 10, Channel::Email, 100),
            message(2, 10, Channel::Email, 300),
            message(3, 20, Channel::Whatsapp, 200),
            message(4, 20, Channel::Whatsapp, 400),
        ];
        let attachment = AttachmentRow {
            id: 7,
            message_id: MessageId(3),
            filename: Some("photo.jpg".into()),
            mime_type: None,
            size: None,
            sha256: None,
            inline: false,
        };
        let orders = vec![order("#1001", 300, "ILS", 5000, false)];
        let items = build_timeline(messages, vec![attachment], &[], &orders);
        let shape: Vec<String> = items
            .iter()
            .map(|i| match i {
                TimelineItem::Message { message, attachments, .. } => format!("{}:{}", message.body_text, attachments.len()),
                TimelineItem::Order { order, .. } => order.number.clone(),
                TimelineItem::Note { .. } => "note".into(),
            })
            .collect();
        assert_eq!(shape, ["m1:0", "m3:1", "#1001", "m2:0", "m4:0"]);
    }

    /// A hostile attachment name cannot leave the target folder or hide itself.
    #[test]
    fn attachment_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd", 1), "passwd");
        assert_eq!(safe_file_name("C:\\x\\faktura.pdf", 2), "faktura.pdf");
        assert_eq!(safe_file_name(".bashrc", 3), "bashrc");
        assert_eq!(safe_file_name("a\u{0}b\nc.txt", 4), "abc.txt");
        assert_eq!(safe_file_name("", 5), "attachment-5");
        assert_eq!(safe_file_name("..", 6), "attachment-6");
        assert_eq!(safe_file_name("הזמנה.pdf", 7), "הזמנה.pdf");
    }

    /// Lifetime value sums per currency, leaves cancelled orders out, and the last purchase
    /// is the newest order that counts.
    #[test]
    fn lifetime_value_per_currency() {
        let orders = vec![
            order("#1", 100, "ILS", 1000, false),
            order("#2", 200, "EUR", 250, false),
            order("#3", 300, "ILS", 500, false),
            order("#4", 400, "ILS", 9999, true),
        ];
        let (totals, last) = lifetime_value(&orders);
        assert_eq!(
            totals,
            [
                MoneyTotal { currency: "EUR".into(), total_minor: 250 },
                MoneyTotal { currency: "ILS".into(), total_minor: 1500 }
            ]
        );
        assert_eq!(last, Some(300));
    }
}
