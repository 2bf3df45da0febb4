//! Saved replies: add, list, delete, and render one for a conversation in the customer's
//! language with the customer's, their latest order's, my and the shop's values.

use crate::{App, AppError, ErrorCode, Result};
use serde::Serialize;
use shopdesk_core::template::{
    Context, choose_language, format_money, order_status_text, parse, render,
};
use shopdesk_core::{ConversationId, IdentityKind};
use shopdesk_store::{OrderRow, Saved, TemplateRow};

/// A saved reply filled in for one conversation, ready to edit and send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub name: String,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
}

/// The setting naming the shop in templates (`{{shop.name}}`).
pub const SHOP_NAME: &str = "shop_name";
/// The setting choosing the template language when the customer's is unknown.
pub const DEFAULT_LANGUAGE: &str = "default_language";

impl App {
    /// Adds or replaces the `language` version of a saved reply; an unknown variable or
    /// unbalanced braces refuse it (code `invalid_template`, the message says where).
    pub fn save_template(
        &mut self,
        name: &str,
        language: &str,
        subject: Option<&str>,
        body: &str,
    ) -> Result<Saved> {
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        Ok(self
            .store
            .save_template(name, language, subject, body, &actor, now)?)
    }

    /// Every saved reply, by name then language.
    pub fn templates(&self) -> Result<Vec<TemplateRow>> {
        Ok(self.store.templates()?)
    }

    /// Deletes one language version of a saved reply, or all of them; returns how many.
    pub fn delete_template(&mut self, name: &str, language: Option<&str>) -> Result<usize> {
        let (actor, _) = self.actor()?;
        let now = self.host.now();
        Ok(self.store.delete_template(name, language, &actor, now)?)
    }

    /// Fills saved reply `name` for `conversation`: the version in the customer's language,
    /// else the shop's default, else English, else any. A variable with no value here (no
    /// order, no shop name) is an error (code `missing_template_value`), never a blank.
    pub fn render_template(&self, name: &str, conversation: ConversationId) -> Result<Rendered> {
        let versions = self.store.template_versions(name)?;
        let row = self.store.conversation(conversation)?;
        let customer = self.store.customer(row.customer_id)?;
        let shop_default = self.setting_string(DEFAULT_LANGUAGE)?;
        let languages: Vec<&str> = versions.iter().map(|t| t.language.as_str()).collect();
        let chosen = choose_language(
            &languages,
            customer.language.as_deref(),
            shop_default.as_deref(),
        )
        .and_then(|lang| versions.iter().find(|t| t.language == lang))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                format!("template {name:?} has no text"),
            )
        })?;

        let order: Option<OrderRow> = self.store.orders(Some(row.customer_id))?.into_iter().next();
        let lang = chosen.language.as_str();
        let context = Context {
            customer_name: Some(customer.name.clone()),
            customer_email: customer
                .identities
                .iter()
                .find(|i| i.kind == IdentityKind::Email)
                .map(|i| i.value.clone()),
            order_number: order.as_ref().map(|o| o.number.clone()),
            order_status: order
                .as_ref()
                .and_then(order_status)
                .map(|s| order_status_text(&s, lang)),
            order_total: order.as_ref().and_then(|o| {
                o.total_minor.map(|t| {
                    let digits = shopdesk_ingest::orders::minor_digits(o.currency.as_deref());
                    format_money(t, digits, o.currency.as_deref(), lang)
                })
            }),
            agent_name: self.store.me()?.map(|m| m.name),
            shop_name: self.setting_string(SHOP_NAME)?,
        };
        let fill = |text: &str| -> Result<String> {
            // Saved rows were checked at save time; a hand-edited row is refused here.
            let template = parse(text)
                .map_err(|e| AppError::new(ErrorCode::InvalidTemplate, e.to_string()))?;
            render(&template, &context).map_err(|e| {
                AppError::new(
                    ErrorCode::MissingTemplateValue,
                    format!("template {name:?} ({lang}): {e}"),
                )
            })
        };
        Ok(Rendered {
            name: chosen.name.clone(),
            language: chosen.language.clone(),
            subject: chosen.subject.as_deref().map(fill).transpose()?,
            body: fill(&chosen.body)?,
        })
    }

    /// A setting holding a non-blank string, else `None`.
    fn setting_string(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .setting(key)?
            .and_then(|v| v.as_str().map(str::trim).map(str::to_owned))
            .filter(|s| !s.is_empty()))
    }
}

/// What the customer cares about: cancelled, else how far shipping got, else payment.
fn order_status(o: &OrderRow) -> Option<String> {
    if o.cancelled_at.is_some() {
        return Some("cancelled".to_owned());
    }
    let present = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    present(&o.fulfillment_status)
        .or_else(|| o.fulfilled_at.map(|_| "fulfilled".to_owned()))
        .or_else(|| present(&o.financial_status))
}
