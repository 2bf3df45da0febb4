//! Desktop notifications: what a reminder or new mail says ([`Notification`], built by
//! pure functions), and where it goes ([`Notifier`]: the desktop's notification server
//! through notify-rust, or a recorder in tests).
//!
//! notify-rust runs on libdbus here (feature `d`), the same library the keyring already
//! links, instead of its default pure-Rust zbus stack: one D-Bus client in the binary and
//! nothing more to compile.

use shopdesk_core::CustomerId;
use shopdesk_store::{DueFollowup, InboundMessage};
use std::sync::{Arc, Mutex};

/// The application name the notification server shows.
pub const APP_NAME: &str = "Shopdesk";

/// More due follow-ups than this at once become one grouped notification.
pub const GROUP_OVER: usize = 3;

/// What clicking a notification opens in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OpenTarget {
    Customer(CustomerId),
    /// The follow-ups list (a grouped reminder).
    Followups,
}

/// How insistent a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

/// One desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    pub summary: String,
    pub body: String,
    pub urgency: Urgency,
    /// Offered as the "open" action (and the click) where the server supports actions.
    pub open: Option<OpenTarget>,
}

/// Why a notification could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// No session bus (no desktop session, or DBUS_SESSION_BUS_ADDRESS unset).
    #[error("no desktop session bus to show notifications on: {0}")]
    NoSessionBus(String),
    /// A bus, but nothing serving org.freedesktop.Notifications.
    #[error("no notification server is running: {0}")]
    NoServer(String),
    #[error("showing a notification failed: {0}")]
    Failed(String),
}

/// Where notifications go.
pub trait Notifier: Send + Sync {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError>;
}

/// Keeps every notification it is given (tests, and a dry run).
#[derive(Debug, Default, Clone)]
pub struct RecordingNotifier {
    pub sent: Arc<Mutex<Vec<Notification>>>,
}

impl RecordingNotifier {
    pub fn taken(&self) -> Vec<Notification> {
        self.sent
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl Notifier for RecordingNotifier {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(n.clone());
        }
        Ok(())
    }
}

/// What to do when the user clicks a notification (open the customer in the window).
pub type OnOpen = Arc<dyn Fn(OpenTarget) + Send + Sync>;

/// The desktop's notification server (org.freedesktop.Notifications on the session bus).
pub struct DesktopNotifier {
    on_open: Option<OnOpen>,
    actions: std::sync::OnceLock<bool>,
}

impl DesktopNotifier {
    /// `on_open` is called (on a helper thread) when the user clicks a notification that
    /// has an [`OpenTarget`]; without it no actions are offered.
    pub fn new(on_open: Option<OnOpen>) -> DesktopNotifier {
        DesktopNotifier {
            on_open,
            actions: std::sync::OnceLock::new(),
        }
    }

    /// Whether the server supports actions; asked once (dunst, GNOME and KDE do).
    fn server_has_actions(&self) -> bool {
        *self.actions.get_or_init(|| {
            notify_rust::get_capabilities().is_ok_and(|caps| caps.iter().any(|c| c == "actions"))
        })
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut out = notify_rust::Notification::new();
        out.appname(APP_NAME)
            .summary(&n.summary)
            .body(&escape_markup(&n.body))
            .urgency(match n.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            });
        let wants_action = match (n.open, &self.on_open) {
            (Some(target), Some(on_open)) if self.server_has_actions() => {
                Some((target, on_open.clone()))
            }
            _ => None,
        };
        if wants_action.is_some() {
            out.action("default", "Open")
                .action("open", "Open in Shopdesk");
        }
        let Some((target, on_open)) = wants_action else {
            return out.show().map(drop).map_err(classify);
        };
        // The libdbus handle cannot move between threads, and waiting for the click
        // blocks until the notification is closed: show and wait on a helper thread,
        // which hands back whether showing worked.
        let (shown_tx, shown_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || match out.show() {
            Ok(handle) => {
                let _ = shown_tx.send(Ok(()));
                handle.wait_for_action(|action| {
                    if action == "default" || action == "open" {
                        on_open(target);
                    }
                });
            }
            Err(e) => {
                let _ = shown_tx.send(Err(classify(e)));
            }
        });
        shown_rx.recv().unwrap_or_else(|_| {
            Err(NotifyError::Failed(
                "the notification thread stopped".into(),
            ))
        })
    }
}

fn classify(e: notify_rust::error::Error) -> NotifyError {
    let text = e.to_string();
    if text.contains("ServiceUnknown") || text.contains("was not provided by any .service") {
        NotifyError::NoServer(text)
    } else if text.contains("DBUS_SESSION_BUS_ADDRESS")
        || text.contains("session bus")
        || text.contains("connect")
    {
        NotifyError::NoSessionBus(text)
    } else {
        NotifyError::Failed(text)
    }
}

/// Bodies may be read as markup by the server: customer text must not be.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The notifications for follow-ups that came due: one each, or one grouped
/// "N follow-ups due" when there are more than `group_over`.
pub fn reminder_notifications(due: &[DueFollowup], group_over: usize) -> Vec<Notification> {
    if due.len() > group_over {
        let shown = 5;
        let mut lines: Vec<String> = due
            .iter()
            .take(shown)
            .map(|d| {
                format!(
                    "{}: {}{}",
                    d.customer_name,
                    one_line(&d.reason),
                    flag_mark(d)
                )
            })
            .collect();
        if due.len() > shown {
            lines.push(format!("and {} more", due.len() - shown));
        }
        return vec![Notification {
            summary: format!("{} follow-ups due", due.len()),
            body: lines.join("\n"),
            urgency: Urgency::Normal,
            open: Some(OpenTarget::Followups),
        }];
    }
    due.iter().map(reminder_notification).collect()
}

fn flag_mark(d: &DueFollowup) -> &'static str {
    if d.flagged {
        " (has written since)"
    } else {
        ""
    }
}

/// One follow-up: title "customer: reason", body the order, the suggested saved reply and
/// the newest message; a flagged one says the customer has written since.
pub fn reminder_notification(d: &DueFollowup) -> Notification {
    let mut body = Vec::new();
    if d.flagged {
        body.push("They have written since this was set: read before reaching out.".to_owned());
    }
    if let Some(order) = &d.order_number {
        body.push(format!("Order {order}"));
    }
    if let Some(template) = &d.template {
        body.push(format!("Saved reply: {template}"));
    }
    if let Some(snippet) = &d.snippet {
        body.push(format!("“{snippet}”"));
    }
    Notification {
        summary: format!(
            "{}: {}{}",
            d.customer_name,
            one_line(&d.reason),
            flag_mark(d)
        ),
        body: body.join("\n"),
        urgency: Urgency::Normal,
        open: Some(OpenTarget::Customer(d.customer_id)),
    }
}

/// New customer mail while the app runs: one notification per message, or one grouped
/// "N new messages" when there are more than `group_over`. None for nothing.
pub fn new_mail_notifications(messages: &[InboundMessage], group_over: usize) -> Vec<Notification> {
    if messages.len() > group_over {
        let mut names: Vec<&str> = Vec::new();
        for m in messages {
            if !names.contains(&m.customer_name.as_str()) {
                names.push(&m.customer_name);
            }
        }
        let single = names.len() == 1;
        return vec![Notification {
            summary: format!("{} new messages", messages.len()),
            body: format!("From {}", names.join(", ")),
            urgency: Urgency::Normal,
            open: if single {
                Some(OpenTarget::Customer(messages[0].customer_id))
            } else {
                None
            },
        }];
    }
    messages
        .iter()
        .map(|m| Notification {
            summary: match &m.subject {
                Some(s) if !s.trim().is_empty() => format!("{}: {}", m.customer_name, one_line(s)),
                _ => m.customer_name.clone(),
            },
            body: m.snippet.clone(),
            urgency: Urgency::Normal,
            open: Some(OpenTarget::Customer(m.customer_id)),
        })
        .collect()
}

/// Notification titles are one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopdesk_core::FollowupId;

    fn due(id: i64, name: &str, flagged: bool) -> DueFollowup {
        DueFollowup {
            id: FollowupId(id),
            customer_id: CustomerId(id),
            customer_name: name.into(),
            reason: "check the parcel\narrived".into(),
            due_at: 0,
            order_number: Some("#1001".into()),
            template: None,
            snippet: Some("where is it?".into()),
            flagged,
        }
    }

    /// Up to the threshold each follow-up is its own notification titled with the
    /// customer's name and reason; past it, one grouped "N follow-ups due".
    #[test]
    fn one_each_then_grouped() {
        let few: Vec<_> = (1..=3)
            .map(|i| due(i, &format!("Customer {i}"), false))
            .collect();
        let shown = reminder_notifications(&few, GROUP_OVER);
        assert_eq!(shown.len(), 3);
        assert_eq!(shown[0].summary, "Customer 1: check the parcel arrived");
        assert!(shown[0].body.contains("Order #1001") && shown[0].body.contains("where is it?"));
        assert_eq!(shown[0].open, Some(OpenTarget::Customer(CustomerId(1))));
        let many: Vec<_> = (1..=7)
            .map(|i| due(i, &format!("Customer {i}"), i == 2))
            .collect();
        let shown = reminder_notifications(&many, GROUP_OVER);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].summary, "7 follow-ups due");
        assert!(
            shown[0]
                .body
                .contains("Customer 2: check the parcel arrived (has written since)\n")
        );
        assert!(shown[0].body.ends_with("and 2 more"));
    }

    /// A flagged follow-up says so in its title and body.
    #[test]
    fn flagged_is_visible() {
        let n = reminder_notification(&due(1, "Anna", true));
        assert!(n.summary.ends_with("(has written since)"));
        assert!(n.body.starts_with("They have written since"));
    }

    /// New mail: subject in the title, grouped beyond the threshold, naming each sender once.
    #[test]
    fn new_mail_grouping() {
        let m = |name: &str, id| InboundMessage {
            message: shopdesk_core::MessageId(id),
            customer_id: CustomerId(id),
            customer_name: name.into(),
            subject: Some("Order\r\n#5".into()),
            snippet: "hello".into(),
        };
        let one = new_mail_notifications(&[m("Anna", 1)], GROUP_OVER);
        assert_eq!(one[0].summary, "Anna: Order #5");
        let many = new_mail_notifications(
            &[m("Anna", 1), m("Bo", 2), m("Anna", 1), m("Cy", 3)],
            GROUP_OVER,
        );
        assert_eq!(many.len(), 1);
        assert_eq!(many[0].summary, "4 new messages");
        assert_eq!(many[0].body, "From Anna, Bo, Cy");
        assert!(new_mail_notifications(&[], GROUP_OVER).is_empty());
    }
}
