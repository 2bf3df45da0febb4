//! Saved replies: `{{customer.first_name}}`-style variables over a closed list.
//!
//! A template is checked when it is saved ([`parse`]): an unknown variable or an unclosed
//! `{{` is an error there, so the customer never receives a literal `{{oder.number}}`.
//! Rendering ([`render`]) refuses a variable with no value in this context (no order, no
//! shop name), so a blank never reaches the customer either.

use serde::Serialize;

/// The variables a template may use. Adding one here is the only way to make a new one
/// valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Var {
    CustomerName,
    CustomerFirstName,
    CustomerEmail,
    OrderNumber,
    OrderStatus,
    OrderTotal,
    AgentName,
    AgentFirstName,
    ShopName,
}

impl Var {
    pub const ALL: [Var; 9] = [
        Var::CustomerFirstName,
        Var::CustomerName,
        Var::CustomerEmail,
        Var::OrderNumber,
        Var::OrderStatus,
        Var::OrderTotal,
        Var::AgentName,
        Var::AgentFirstName,
        Var::ShopName,
    ];

    /// The name written between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Var::CustomerName => "customer.name",
            Var::CustomerFirstName => "customer.first_name",
            Var::CustomerEmail => "customer.email",
            Var::OrderNumber => "order.number",
            Var::OrderStatus => "order.status",
            Var::OrderTotal => "order.total",
            Var::AgentName => "agent.name",
            Var::AgentFirstName => "agent.first_name",
            Var::ShopName => "shop.name",
        }
    }

    pub fn from_name(name: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Why such a value can be missing, for the render error.
    fn missing_reason(self) -> &'static str {
        match self {
            Var::CustomerName | Var::CustomerFirstName => "the customer has no name on record",
            Var::CustomerEmail => "the customer has no email address",
            Var::OrderNumber | Var::OrderStatus | Var::OrderTotal => {
                "the customer has no order (or the order lacks it)"
            }
            Var::AgentName | Var::AgentFirstName => "no team member is set as me",
            Var::ShopName => "the shop name is not set (setting shop_name)",
        }
    }
}

/// Every known variable, as the error messages list them.
pub fn known_variables() -> String {
    Var::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a template cannot be saved. Positions are 1-based lines and columns in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown variable {{{{{name}}}}} at line {line}, column {column}; known variables: {known}"
    )]
    UnknownVariable {
        name: String,
        line: usize,
        column: usize,
        known: String,
    },
    #[error("'{{{{' at line {line}, column {column} is never closed with '}}}}'")]
    Unclosed { line: usize, column: usize },
    #[error("'}}}}' at line {line}, column {column} closes nothing (no '{{{{' before it)")]
    Unopened { line: usize, column: usize },
    #[error("empty variable '{{{{}}}}' at line {line}, column {column}")]
    EmptyVariable { line: usize, column: usize },
    #[error("the template body is empty")]
    EmptyBody,
}

/// A variable with no value where the template is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{{{{{variable}}}}} has no value here: {reason}")]
pub struct RenderError {
    pub variable: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A checked template: text and known variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// The variables used, in order of first use.
    pub fn variables(&self) -> Vec<Var> {
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Var(v) = part
                && !out.contains(v)
            {
                out.push(*v);
            }
        }
        out
    }
}

/// Checks `text`: every `{{ name }}` must be a known variable (spaces inside the braces
/// are allowed), every `{{` closed, no stray `}}`. Single braces are plain text.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = text;
    let mut consumed = 0usize; // bytes of `text` before `rest`
    loop {
        let open = rest.find("{{");
        let close = rest.find("}}");
        match (open, close) {
            (None, None) => {
                if !rest.is_empty() {
                    parts.push(Part::Text(rest.to_string()));
                }
                break;
            }
            (open, Some(c)) if open.is_none_or(|o| c < o) => {
                let (line, column) = position(text, consumed + c);
                return Err(TemplateError::Unopened { line, column });
            }
            (Some(o), close) => {
                let Some(c) = close else {
                    let (line, column) = position(text, consumed + o);
                    return Err(TemplateError::Unclosed { line, column });
                };
                let inner = &rest[o + 2..c];
                let (line, column) = position(text, consumed + o);
                // A `{{` inside the braces means the first one was never closed.
                if inner.contains("{{") {
                    return Err(TemplateError::Unclosed { line, column });
                }
                let name = inner.trim();
                if name.is_empty() {
                    return Err(TemplateError::EmptyVariable { line, column });
                }
                let var = Var::from_name(name).ok_or_else(|| TemplateError::UnknownVariable {
                    name: name.to_string(),
                    line,
                    column,
                    known: known_variables(),
                })?;
                if o > 0 {
                    parts.push(Part::Text(rest[..o].to_string()));
                }
                parts.push(Part::Var(var));
                consumed += c + 2;
                rest = &rest[c + 2..];
            }
            // (None, Some) with no open is handled above; this arm is unreachable by the
            // guard's logic but keeps the match total without a panic.
            (None, Some(c)) => {
                let (line, column) = position(text, consumed + c);
                return Err(TemplateError::Unopened { line, column });
            }
        }
    }
    Ok(Template { parts })
}

/// [`parse`], plus the rule that a saved reply's body says something.
pub fn validate_body(text: &str) -> Result<Template, TemplateError> {
    if text.trim().is_empty() {
        return Err(TemplateError::EmptyBody);
    }
    parse(text)
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, byte: usize) -> (usize, usize) {
    let before = text.get(..byte).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The values available where a template is used. `None` = not known here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub order_number: Option<String>,
    pub order_status: Option<String>,
    pub order_total: Option<String>,
    pub agent_name: Option<String>,
    pub shop_name: Option<String>,
}

impl Context {
    fn value(&self, var: Var) -> Option<String> {
        let non_blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match var {
            Var::CustomerName => non_blank(&self.customer_name),
            Var::CustomerFirstName => self.customer_name.as_deref().and_then(first_name),
            Var::CustomerEmail => non_blank(&self.customer_email),
            Var::OrderNumber => non_blank(&self.order_number),
            Var::OrderStatus => non_blank(&self.order_status),
            Var::OrderTotal => non_blank(&self.order_total),
            Var::AgentName => non_blank(&self.agent_name),
            Var::AgentFirstName => self.agent_name.as_deref().and_then(first_name),
            Var::ShopName => non_blank(&self.shop_name),
        }
    }
}

/// Fills every variable; the first one without a value is an error.
pub fn render(template: &Template, context: &Context) -> Result<String, RenderError> {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Var(v) => {
                let value = context.value(*v).ok_or(RenderError {
                    variable: v.name(),
                    reason: v.missing_reason(),
                })?;
                out.push_str(&value);
            }
        }
    }
    Ok(out)
}

/// Direction marks and isolates that exports leave around names.
fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first name in a full name in any script: the first word, or the first word after
/// the comma of "Surname, Given". `None` when the "name" is really an address or a phone
/// number (a mail sender without a display name), which must not greet anyone.
pub fn first_name(full: &str) -> Option<String> {
    let cleaned: String = full.chars().filter(|c| !is_bidi_mark(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.contains('@') || crate::phone::looks_like_phone(cleaned) {
        return None;
    }
    let given = match cleaned.split_once(',') {
        Some((_, after)) if !after.trim().is_empty() && !after.contains(',') => after,
        _ => cleaned,
    };
    given
        .split_whitespace()
        .next()
        .map(|w| w.trim_matches(|c: char| c == '"' || c == '\'').to_string())
        .filter(|w| !w.is_empty())
}

/// The primary language subtag, lower-cased: `he-IL` → `he`; the old code `iw` is `he`.
pub fn normalize_language(code: &str) -> Option<String> {
    let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some(match primary.as_str() {
        "iw" => "he".to_string(),
        _ => primary,
    })
}

/// Which of a template's languages to send: the customer's, else the shop's default, else
/// English, else the first available (callers pass them sorted, so the choice is stable).
pub fn choose_language<'a>(
    available: &[&'a str],
    customer: Option<&str>,
    shop_default: Option<&str>,
) -> Option<&'a str> {
    let wanted = [customer, shop_default, Some("en")];
    for code in wanted.into_iter().flatten() {
        let Some(code) = normalize_language(code) else {
            continue;
        };
        if let Some(found) = available
            .iter()
            .find(|a| normalize_language(a).as_deref() == Some(code.as_str()))
        {
            return Some(found);
        }
    }
    available.first().copied()
}

/// An amount in minor units with `digits` decimals (2 for most currencies, 0 for JPY, 3
/// for KWD) as the customer reads it: `149.90 ILS`, Polish `149,90 PLN`, `1500 JPY`.
pub fn format_money(minor: i64, digits: u32, currency: Option<&str>, language: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let sep = match normalize_language(language).as_deref() {
        Some("pl") => ',',
        _ => '.',
    };
    let amount = match 10u64.checked_pow(digits) {
        Some(scale) if digits > 0 => format!(
            "{sign}{}{sep}{:0width$}",
            abs / scale,
            abs % scale,
            width = digits as usize
        ),
        _ => format!("{sign}{abs}"),
    };
    match currency.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => format!("{amount} {c}"),
        None => amount,
    }
}

/// A shop's order status word (Shopify/WooCommerce vocabulary) in the customer's language;
/// a word not in the table is passed through as the shop wrote it.
pub fn order_status_text(status: &str, language: &str) -> String {
    let key = status.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let lang = normalize_language(language).unwrap_or_default();
    let row: Option<[&str; 4]> = match key.as_str() {
        // en, pl, he, ar
        "paid" | "completed" => Some(["paid", "opłacone", "שולמה", "مدفوع"]),
        "pending" | "on_hold" | "processing" => {
            Some(["being processed", "w realizacji", "בטיפול", "قيد المعالجة"])
        }
        "fulfilled" | "shipped" => Some(["shipped", "wysłane", "נשלחה", "تم الشحن"]),
        "partial" | "partially_fulfilled" => Some([
            "partly shipped",
            "wysłane częściowo",
            "נשלחה חלקית",
            "تم شحنه جزئيًا",
        ]),
        "unfulfilled" => Some([
            "not shipped yet",
            "jeszcze nie wysłane",
            "טרם נשלחה",
            "لم يُشحن بعد",
        ]),
        "refunded" => Some(["refunded", "zwrócone", "זוכתה", "تم الاسترداد"]),
        "cancelled" | "canceled" => Some(["cancelled", "anulowane", "בוטלה", "ملغى"]),
        _ => None,
    };
    let column = match lang.as_str() {
        "pl" => 1,
        "he" => 2,
        "ar" => 3,
        _ => 0,
    };
    match row {
        Some(words) => words[column].to_string(),
        None => status.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            customer_name: Some("Anna Kowalska".into()),
            customer_email: Some("anna@example.pl".into()),
            order_number: Some("#1001".into()),
            order_status: Some("wysłane".into()),
            order_total: Some("149,90 PLN".into()),
            agent_name: Some("Dana Levi".into()),
            shop_name: Some("Sklep Ania".into()),
        }
    }

    /// Every known variable renders; spaces inside the braces are allowed.
    #[test]
    fn renders_all_variables() {
        let t = parse(
            "Dzień dobry {{customer.first_name}}! Zamówienie {{ order.number }} ({{order.status}}, \
             {{order.total}}) — {{agent.first_name}}, {{shop.name}}",
        )
        .expect("valid");
        assert_eq!(
            render(&t, &ctx()),
            Ok(
                "Dzień dobry Anna! Zamówienie #1001 (wysłane, 149,90 PLN) — Dana, Sklep Ania"
                    .into()
            )
        );
        assert_eq!(
            t.variables(),
            vec![
                Var::CustomerFirstName,
                Var::OrderNumber,
                Var::OrderStatus,
                Var::OrderTotal,
                Var::AgentFirstName,
                Var::ShopName
            ]
        );
    }

    /// Right-to-left templates keep their text byte for byte around the filled values.
    #[test]
    fn renders_hebrew_and_arabic() {
        let he = parse("שלום {{customer.first_name}}, ההזמנה {{order.number}} נשלחה.").expect("he");
        let c = Context {
            customer_name: Some("משה כהן".into()),
            order_number: Some("#2002".into()),
            ..Default::default()
        };
        assert_eq!(render(&he, &c), Ok("שלום משה, ההזמנה #2002 נשלחה.".into()));
        let ar = parse("مرحبا {{customer.first_name}}، طلبك {{order.number}}").expect("ar");
        let c = Context {
            customer_name: Some("\u{200F}محمد بن علي".into()),
            order_number: Some("#7".into()),
            ..Default::default()
        };
        assert_eq!(render(&ar, &c), Ok("مرحبا محمد، طلبك #7".into()));
    }

    /// An unknown variable is refused with its name, position and the known list.
    #[test]
    fn unknown_variable_names_itself() {
        let err =
            parse("Hi {{customer.first_name}},\nyour {{oder.number}} is here").expect_err("typo");
        assert_eq!(
            err,
            TemplateError::UnknownVariable {
                name: "oder.number".into(),
                line: 2,
                column: 6,
                known: known_variables(),
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("{{oder.number}}"), "{msg}");
        assert!(msg.contains("line 2, column 6"), "{msg}");
        assert!(
            msg.contains("order.number") && msg.contains("customer.first_name"),
            "{msg}"
        );
        // Columns count characters, not bytes, in Hebrew.
        let err = parse("שלום {{שם}}").expect_err("unknown");
        assert!(
            matches!(
                err,
                TemplateError::UnknownVariable {
                    line: 1,
                    column: 6,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    /// Unbalanced braces are errors at their position; single braces are text.
    #[test]
    fn unbalanced_braces() {
        assert_eq!(
            parse("Hi {{customer.name"),
            Err(TemplateError::Unclosed { line: 1, column: 4 })
        );
        assert_eq!(
            parse("Hi {{customer.name {{order.number}}"),
            Err(TemplateError::Unclosed { line: 1, column: 4 })
        );
        assert_eq!(
            parse("Hi customer.name}} x"),
            Err(TemplateError::Unopened {
                line: 1,
                column: 17
            })
        );
        assert_eq!(
            parse("a {{ }} b"),
            Err(TemplateError::EmptyVariable { line: 1, column: 3 })
        );
        assert_eq!(validate_body(" \n "), Err(TemplateError::EmptyBody));
        let t = parse("price {5} {not a var}").expect("single braces are text");
        assert_eq!(
            render(&t, &Context::default()),
            Ok("price {5} {not a var}".into())
        );
    }

    /// A variable without a value is an error naming it, never an empty string.
    #[test]
    fn missing_value_is_an_error() {
        let t = parse("Your order {{order.number}} from {{shop.name}}").expect("valid");
        let c = Context {
            shop_name: Some("S".into()),
            ..Default::default()
        };
        let err = render(&t, &c).expect_err("no order");
        assert_eq!(err.variable, "order.number");
        assert!(err.to_string().contains("no order"), "{err}");
        // A name that is only an address greets nobody.
        let t = parse("Hi {{customer.first_name}}").expect("valid");
        let c = Context {
            customer_name: Some("anna@example.com".into()),
            ..Default::default()
        };
        assert_eq!(
            render(&t, &c).map_err(|e| e.variable),
            Err("customer.first_name")
        );
        let c = Context {
            customer_name: Some("  ".into()),
            ..Default::default()
        };
        assert!(render(&t, &c).is_err());
    }

    /// First names in Hebrew, Arabic, Polish and English, with marks and "Surname, Given".
    #[test]
    fn first_names() {
        assert_eq!(first_name("משה כהן").as_deref(), Some("משה"));
        assert_eq!(
            first_name("\u{2067}فاطمة الزهراء\u{2069}").as_deref(),
            Some("فاطمة")
        );
        assert_eq!(first_name("Łukasz Żółć").as_deref(), Some("Łukasz"));
        assert_eq!(first_name("Kowalski, Jan").as_deref(), Some("Jan"));
        assert_eq!(first_name("  Anna  ").as_deref(), Some("Anna"));
        assert_eq!(first_name("+972 50-123-4567"), None);
        assert_eq!(first_name(""), None);
    }

    /// The customer's language wins, then the shop default, then English, then the first.
    #[test]
    fn language_choice() {
        let all = ["ar", "en", "he", "pl"];
        assert_eq!(choose_language(&all, Some("he-IL"), Some("pl")), Some("he"));
        assert_eq!(choose_language(&all, Some("iw"), None), Some("he"));
        assert_eq!(choose_language(&all, Some("de"), Some("pl")), Some("pl"));
        assert_eq!(choose_language(&all, None, None), Some("en"));
        assert_eq!(
            choose_language(&["ar", "pl"], Some("de"), Some("fr")),
            Some("ar")
        );
        assert_eq!(choose_language(&[], Some("he"), None), None);
    }

    /// Money and statuses read naturally per language; unknown statuses pass through.
    #[test]
    fn money_and_status() {
        assert_eq!(format_money(14990, 2, Some("PLN"), "pl"), "149,90 PLN");
        assert_eq!(format_money(5, 2, Some("ILS"), "he"), "0.05 ILS");
        assert_eq!(format_money(-1250, 2, None, "en"), "-12.50");
        assert_eq!(format_money(1500, 0, Some("JPY"), "en"), "1500 JPY");
        assert_eq!(format_money(12345, 3, Some("KWD"), "ar"), "12.345 KWD");
        assert_eq!(order_status_text("fulfilled", "he"), "נשלחה");
        assert_eq!(
            order_status_text("Partially fulfilled", "pl"),
            "wysłane częściowo"
        );
        assert_eq!(order_status_text("paid", "ar"), "مدفوع");
        assert_eq!(
            order_status_text("awaiting-pickup", "en"),
            "awaiting-pickup"
        );
    }
}
