//! The conversation workflow as the user drives it: status, priority, tags, assignee,
//! snooze, internal notes, the team. Each change is logged under the team member set as
//! "me" (or `user` before anyone is), and returns the conversation as it now is.

use crate::{App, AppError, ErrorCode, Result};
use shopdesk_core::{ConversationId, CustomerId, MemberId, Millis, Priority, Status};
use shopdesk_store::{ConversationRow, EventRow, NoteRow, NoteTarget, TeamMember};

/// The actor named when no team member is set as me yet.
const FALLBACK_ACTOR: &str = "user";

/// Until when a conversation sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "at")]
pub enum SnoozeUntil {
    /// A point in time (it also wakes if the customer writes first).
    Time(Millis),
    /// Until the customer writes.
    Reply,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

impl App {
    /// The name the event log records for this user, and their team member id.
    pub(crate) fn actor(&self) -> Result<(String, Option<MemberId>)> {
        Ok(match self.store.me()? {
            Some(m) => (m.name, Some(m.id)),
            None => (FALLBACK_ACTOR.to_owned(), None),
        })
    }

    /// Sets open, pending or closed. Snoozing has its own call, which says until when.
    pub fn set_conversation_status(
        &mut self,
        id: ConversationId,
        status: Status,
    ) -> Result<ConversationRow> {
        if status == Status::Snoozed {
            return Err(invalid(
                "snoozing needs a time or 'until the customer replies': use snooze",
            ));
        }
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        self.store.set_status(id, status, None, &actor, now)?;
        Ok(self.store.conversation(id)?)
    }

    pub fn set_conversation_priority(
        &mut self,
        id: ConversationId,
        priority: Priority,
    ) -> Result<ConversationRow> {
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        self.store.set_priority(id, priority, &actor, now)?;
        Ok(self.store.conversation(id)?)
    }

    /// Tags a conversation (the tag is created on first use; case is ignored).
    pub fn tag_conversation(&mut self, id: ConversationId, tag: &str) -> Result<ConversationRow> {
        let tag = check_tag(tag)?;
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        self.store.tag_conversation(id, tag, &actor, now)?;
        Ok(self.store.conversation(id)?)
    }

    /// Takes a tag off; a tag that is not there is NotFound.
    pub fn untag_conversation(&mut self, id: ConversationId, tag: &str) -> Result<ConversationRow> {
        let tag = check_tag(tag)?;
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        if !self.store.untag_conversation(id, tag, &actor, now)? {
            return Err(AppError::new(
                ErrorCode::NotFound,
                format!("conversation {id} has no tag {tag:?}"),
            ));
        }
        Ok(self.store.conversation(id)?)
    }

    /// Assigns a conversation to a team member (id or name), or to nobody.
    pub fn assign_conversation(
        &mut self,
        id: ConversationId,
        member: Option<&str>,
    ) -> Result<ConversationRow> {
        let member = member.map(|m| self.store.team_member(m)).transpose()?;
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        self.store.assign(id, member.map(|m| m.id), &actor, now)?;
        Ok(self.store.conversation(id)?)
    }

    /// Snoozes a conversation. A time must be in the future; a customer message wakes it
    /// in both cases.
    pub fn snooze_conversation(
        &mut self,
        id: ConversationId,
        until: SnoozeUntil,
    ) -> Result<ConversationRow> {
        let now = self.host.now();
        let until = match until {
            SnoozeUntil::Time(at) if at <= now => {
                return Err(invalid(format!(
                    "cannot snooze until {}: that time has passed",
                    jiff::Timestamp::from_millisecond(at).map_or(at.to_string(), |t| t.to_string())
                )));
            }
            SnoozeUntil::Time(at) => Some(at),
            SnoozeUntil::Reply => None,
        };
        let (actor, _) = self.actor()?;
        self.store.snooze(id, until, &actor, now)?;
        Ok(self.store.conversation(id)?)
    }

    /// Wakes the conversations whose timed snooze is due now (the scheduler calls this).
    pub fn wake_due_snoozes(&mut self) -> Result<Vec<ConversationId>> {
        let now = self.host.now();
        Ok(self.store.wake_due_snoozes(now)?)
    }

    /// When the next timed snooze ends, for the scheduler's sleep.
    pub fn next_snooze_due(&self) -> Result<Option<Millis>> {
        Ok(self.store.next_snooze_due()?)
    }

    /// Adds an internal note (never sent) on a customer or a conversation.
    pub fn add_note(&mut self, target: NoteTarget, body: &str) -> Result<NoteRow> {
        let body = body.trim();
        if body.is_empty() {
            return Err(invalid("a note needs some text"));
        }
        let (actor, me) = self.actor()?;
        let now = self.host.now();
        let id = self.store.add_note(target, body, me, &actor, now)?;
        let customer = match target {
            NoteTarget::Customer(c) => c,
            NoteTarget::Conversation(c) => self.store.conversation(c)?.customer_id,
        };
        self.notes(customer)?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or_else(|| AppError::new(ErrorCode::Internal, format!("note {id} vanished")))
    }

    /// A customer's notes, oldest first.
    pub fn notes(&self, customer: CustomerId) -> Result<Vec<NoteRow>> {
        Ok(self.store.notes(customer)?)
    }

    /// The change log of one conversation, oldest first.
    pub fn conversation_events(&self, id: ConversationId) -> Result<Vec<EventRow>> {
        self.store.conversation(id)?;
        Ok(self.store.events_of("conversations", id.0)?)
    }

    pub fn team_members(&self) -> Result<Vec<TeamMember>> {
        Ok(self.store.team_members()?)
    }

    /// Adds a team member; with `is_me` they are the one at this laptop from now on.
    pub fn add_team_member(
        &mut self,
        name: &str,
        email: Option<&str>,
        is_me: bool,
    ) -> Result<TeamMember> {
        if name.trim().is_empty() {
            return Err(invalid("a team member needs a name"));
        }
        if name.contains(['\r', '\n']) {
            return Err(invalid("a name is one line"));
        }
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        if let Some(e) = email
            && (!e.contains('@') || e.contains(char::is_whitespace))
        {
            return Err(invalid(format!("{e:?} is not an email address")));
        }
        let now = self.host.now();
        let id = self.store.add_team_member(name, email, is_me, now)?;
        Ok(self.store.team_member(&id.0.to_string())?)
    }

    /// Makes a team member (id or name) the one at this laptop.
    pub fn set_me(&mut self, member: &str) -> Result<TeamMember> {
        let m = self.store.team_member(member)?;
        let now = self.host.now();
        self.store.set_me(m.id, now)?;
        Ok(self.store.team_member(&m.id.0.to_string())?)
    }
}

fn check_tag(tag: &str) -> Result<&str> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(invalid("a tag needs a name"));
    }
    if tag.chars().any(char::is_control) || tag.chars().count() > 64 {
        return Err(invalid(format!(
            "{tag:?} is not a tag name (one line, at most 64 characters)"
        )));
    }
    Ok(tag)
}
