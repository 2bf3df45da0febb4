//! Follow-ups and follow-up rules as the user sees them: times typed as text
//! (`parse_when`), "due" meaning by the end of the user's today, a time in the past refused
//! unless asked for, and the questions the reminder scheduler asks.

use crate::notify::{self, Notifier};
use crate::{App, AppError, ErrorCode, Result, start_of_day};
use shopdesk_core::{ConversationId, CustomerId, DAY, FollowupId, MessageId, Millis};
use shopdesk_store::{
    DueFollowup, FollowupFilter, FollowupRow, FollowupRule, NewFollowup, RuleTrigger, Store,
};

const ACTOR: &str = "user";
/// A note is a line or two, shown in a notification title.
const MAX_NOTE_CHARS: usize = 500;
/// Setting: notify on new customer mail while the app runs (default on).
pub const NOTIFY_NEW_MAIL: &str = "notify_new_mail";

/// Which follow-ups to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowupListing {
    /// Every pending follow-up.
    Pending,
    /// Pending and due by the end of the user's today (overdue included).
    Due,
    /// A customer's follow-ups, any state.
    Customer(CustomerId),
}

impl App {
    /// The host's clock, for callers that schedule against it (the reminder scheduler).
    pub fn now(&self) -> Millis {
        self.host.now()
    }

    /// Reads a time as typed (`+7d`, `tomorrow 9:00`, RFC 3339) in the user's time zone.
    pub fn parse_when(&self, text: &str) -> Result<Millis> {
        shopdesk_core::when::parse_when(text, self.host.now(), &self.host.time_zone())
            .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.to_string()))
    }

    /// Adds a one-off follow-up. A due time already past is refused unless `allow_past`
    /// (then it is due at once).
    pub fn add_followup(
        &mut self,
        customer: CustomerId,
        conversation: Option<ConversationId>,
        due_at: Millis,
        note: &str,
        allow_past: bool,
    ) -> Result<FollowupRow> {
        let now = self.host.now();
        let note = note.trim();
        if note.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "a follow-up needs a note saying what to do",
            ));
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("a follow-up note is at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        if due_at < now && !allow_past {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "the due time {} is in the past; allow a past time (--allow-past) to add it as already due",
                    self.local_time(due_at)
                ),
            ));
        }
        let new = NewFollowup {
            customer,
            conversation,
            due_at,
            reason: note.to_owned(),
        };
        let id = self.store.add_followup(&new, ACTOR, now)?;
        self.reminders.changed();
        Ok(self.store.followup(id)?)
    }

    pub fn followup(&self, id: FollowupId) -> Result<FollowupRow> {
        Ok(self.store.followup(id)?)
    }

    /// Follow-ups, soonest due first.
    pub fn followups(&self, listing: FollowupListing) -> Result<Vec<FollowupRow>> {
        let filter = match listing {
            FollowupListing::Pending => FollowupFilter::Pending,
            FollowupListing::Due => FollowupFilter::DueBefore(
                start_of_day(self.host.now(), &self.host.time_zone()) + DAY,
            ),
            FollowupListing::Customer(c) => FollowupFilter::Customer(c),
        };
        Ok(self.store.followups(filter)?)
    }

    pub fn finish_followup(&mut self, id: FollowupId) -> Result<()> {
        self.store.finish_followup(id, ACTOR, self.host.now())?;
        self.reminders.changed();
        Ok(())
    }

    pub fn cancel_followup(&mut self, id: FollowupId) -> Result<()> {
        self.store.cancel_followup(id, ACTOR, self.host.now())?;
        self.reminders.changed();
        Ok(())
    }

    /// Moves a pending follow-up to a later time; it notifies again then.
    pub fn snooze_followup(&mut self, id: FollowupId, until: Millis) -> Result<FollowupRow> {
        let now = self.host.now();
        if until <= now {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "cannot snooze until {}: that is not in the future",
                    self.local_time(until)
                ),
            ));
        }
        self.store.snooze_followup(id, until, ACTOR, now)?;
        self.reminders.changed();
        Ok(self.store.followup(id)?)
    }

    /// Adds a rule: `days` days after an order is created / fulfilled, remind me (with the
    /// saved reply named `template`), and applies it at once.
    pub fn add_followup_rule(
        &mut self,
        name: &str,
        trigger: RuleTrigger,
        days: i64,
        template: Option<&str>,
    ) -> Result<FollowupRule> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "a rule needs a name",
            ));
        }
        if !(0..=3650).contains(&days) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "days must be between 0 and 3650",
            ));
        }
        let now = self.host.now();
        let id = self
            .store
            .add_followup_rule(name, trigger, days, template, ACTOR, now)?;
        self.store.apply_followup_rules(now)?;
        self.store
            .followup_rules()?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| AppError::new(ErrorCode::Internal, "the rule just added is missing"))
    }

    pub fn followup_rules(&self) -> Result<Vec<FollowupRule>> {
        Ok(self.store.followup_rules()?)
    }

    pub fn set_followup_rule_enabled(&mut self, id: i64, enabled: bool) -> Result<()> {
        let now = self.host.now();
        self.store
            .set_followup_rule_enabled(id, enabled, ACTOR, now)?;
        if enabled {
            self.store.apply_followup_rules(now)?;
            self.reminders.changed();
        }
        Ok(())
    }

    /// Makes the follow-ups rules call for (after an order import, and by the scheduler).
    pub fn apply_followup_rules(&mut self) -> Result<usize> {
        Ok(self.store.apply_followup_rules(self.host.now())?)
    }

    /// Wakes the reminder scheduler running over this App: for changes it cannot see
    /// otherwise (an order import, for the rules). Follow-up edits here do it themselves.
    pub fn followups_changed(&self) {
        self.reminders.changed();
    }

    /// The tray badge: pending follow-ups due now (shown or not).
    pub fn due_count(&self) -> Result<i64> {
        Ok(self.store.followups_due_count(self.host.now())?)
    }

    /// When the next follow-up falls due (possibly already), for the scheduler.
    pub fn next_followup_due(&self) -> Result<Option<Millis>> {
        Ok(self.store.next_followup_due()?)
    }

    /// Follow-ups due at `now` not shown yet.
    pub fn due_reminders(&self, now: Millis) -> Result<Vec<DueFollowup>> {
        Ok(self.store.due_unnotified(now)?)
    }

    /// Records that these were shown, so they never show twice.
    pub fn mark_reminded(&mut self, ids: &[FollowupId], now: Millis) -> Result<()> {
        Ok(self.store.mark_notified(ids, now)?)
    }

    /// New customer mail while the app runs: shows the new inbound messages among
    /// `messages` unless the `notify_new_mail` setting is false. Returns how many
    /// notifications were shown.
    pub fn notify_new_mail(
        &self,
        notifier: &dyn Notifier,
        messages: &[MessageId],
    ) -> Result<usize> {
        notify_new_mail(&self.store, notifier, messages)
    }

    fn local_time(&self, at: Millis) -> String {
        jiff::Timestamp::from_millisecond(at).map_or_else(
            |_| at.to_string(),
            |t| {
                t.to_zoned(self.host.time_zone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            },
        )
    }
}

/// [`App::notify_new_mail`] over a bare store, for the sync engine (which owns its own
/// `Store`): call it after a pass with the ids of the messages it stored as new.
pub fn notify_new_mail(
    store: &Store,
    notifier: &dyn Notifier,
    messages: &[MessageId],
) -> Result<usize> {
    if messages.is_empty() || !new_mail_enabled(store)? {
        return Ok(0);
    }
    let inbound = store.inbound_messages(messages)?;
    let shown = notify::new_mail_notifications(&inbound, notify::GROUP_OVER);
    for n in &shown {
        notifier
            .notify(n)
            .map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))?;
    }
    Ok(shown.len())
}

fn new_mail_enabled(store: &Store) -> Result<bool> {
    Ok(store
        .setting(NOTIFY_NEW_MAIL)?
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::RecordingNotifier;
    use crate::{ConversationFilter, FixedHost};

    /// New customer mail makes one notification naming the customer, the shop's own mail
    /// none; with `notify_new_mail` set to false nothing is shown.
    #[test]
    fn new_mail_notifies_unless_turned_off() {
        let dir = tempfile::tempdir().expect("dir");
        let host = FixedHost {
            now: 1_800_000_000_000,
            tz: jiff::tz::TimeZone::UTC,
        };
        let mut app = App::open(&dir.path().join("t.db"), host).expect("open");
        let mail = dir.path().join("mail");
        std::fs::create_dir_all(&mail).expect("dir");
        let eml = |from: &str, id: &str, body: &str| {
            format!(
                "From: {from}\r\nTo: shop@myshop.example\r\nSubject: Parcel\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
                 Message-ID: <{id}@x.test>\r\n\r\n{body}\r\n"
            )
        };
        std::fs::write(
            mail.join("a.eml"),
            eml("\"Anna Nowak\" <anna@x.test>", "a", "Where is it?"),
        )
        .expect("write");
        std::fs::write(
            mail.join("b.eml"),
            eml("shop@myshop.example", "b", "On its way"),
        )
        .expect("write");
        app.import_mail(&mail, &["shop@myshop.example".to_owned()], |_| {})
            .expect("import");
        let mut ids = Vec::new();
        for c in app
            .conversations(&ConversationFilter::default())
            .expect("conversations")
        {
            ids.extend(
                app.messages(c.id)
                    .expect("messages")
                    .into_iter()
                    .map(|m| m.id),
            );
        }
        assert_eq!(ids.len(), 2);
        let shown = RecordingNotifier::default();
        assert_eq!(app.notify_new_mail(&shown, &ids).expect("notify"), 1);
        let got = shown.taken();
        assert_eq!(got[0].summary, "Anna Nowak: Parcel");
        assert_eq!(got[0].body, "Where is it?");
        app.set_setting(NOTIFY_NEW_MAIL, "false").expect("setting");
        assert_eq!(app.notify_new_mail(&shown, &ids).expect("notify"), 0);
        assert!(shown.taken().is_empty());
    }
}
