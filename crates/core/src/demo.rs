//! A realistic, deterministic demo shop: customers writing Hebrew, Arabic, Polish and
//! English over email and WhatsApp, with orders, notes and follow-ups.
//!
//! [`generate`] is pure: the same [`DemoOptions`] give the same customers, texts and
//! times. Times are laid out backwards from `opts.anchor` (the caller passes the start of
//! the current day), so two runs on the same day produce identical databases. Customers
//! are handed to a callback one at a time, so 20,000 customers never sit in memory at once.

use crate::{Channel, DAY, Direction, HOUR, IdentityKind, MINUTE, Millis, Priority, Status};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub customers: usize,
    /// Total messages over all customers (spread unevenly, but the sum is exact).
    pub messages: usize,
    /// The start of "today": messages lie before it, follow-ups around it.
    pub anchor: Millis,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 1,
            customers: 48,
            messages: 600,
            anchor: 0,
        }
    }
}

/// One team member of the demo shop.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMember {
    pub name: &'static str,
    pub email: &'static str,
    pub is_me: bool,
}

/// The two people who run the demo shop; the first is "me".
pub const MEMBERS: [DemoMember; 2] = [
    DemoMember {
        name: "Noa",
        email: "noa@sunflower-shop.example",
        is_me: true,
    },
    DemoMember {
        name: "Karim",
        email: "karim@sunflower-shop.example",
        is_me: false,
    },
];

/// The demo shop's own address: outgoing email comes from here.
pub const SHOP_EMAIL: &str = "hello@sunflower-shop.example";
/// The shop's name as it appears in WhatsApp chats.
pub const SHOP_CHAT_NAME: &str = "Sunflower Shop";

#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    pub name: String,
    pub language: &'static str,
    pub identities: Vec<DemoIdentity>,
    pub tags: Vec<&'static str>,
    pub conversations: Vec<DemoConversation>,
    pub orders: Vec<DemoOrder>,
    pub notes: Vec<DemoNote>,
    pub followups: Vec<DemoFollowup>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoIdentity {
    pub kind: IdentityKind,
    /// Normalised: lower-cased email, E.164 phone.
    pub value: String,
    pub display: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoConversation {
    pub channel: Channel,
    pub subject: Option<String>,
    pub status: Status,
    pub priority: Priority,
    /// Index into [`MEMBERS`].
    pub assignee: Option<usize>,
    pub snoozed_until: Option<Millis>,
    pub tags: Vec<&'static str>,
    /// A chat's thread identity (what a WhatsApp export would be keyed by).
    pub external_key: Option<String>,
    pub messages: Vec<DemoMessage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoMessage {
    pub direction: Direction,
    pub author: String,
    /// Index into [`MEMBERS`] for outgoing messages.
    pub member: Option<usize>,
    pub sent_at: Millis,
    pub subject: Option<String>,
    pub body: String,
    /// Makes re-running the demo into the same database idempotent.
    pub source_key: String,
    /// RFC 5322 Message-ID (without brackets), email only.
    pub rfc_message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub from_addr: Option<String>,
    pub to_addr: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoOrder {
    pub number: String,
    pub currency: &'static str,
    pub total_minor: i64,
    pub financial_status: &'static str,
    pub fulfillment_status: &'static str,
    pub created_at: Millis,
    pub fulfilled_at: Option<Millis>,
    pub lines: Vec<DemoOrderLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoOrderLine {
    pub title: &'static str,
    pub sku: String,
    pub quantity: i64,
    pub price_minor: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoNote {
    pub body: String,
    pub at: Millis,
    pub author: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoFollowup {
    pub due_at: Millis,
    pub reason: String,
    /// Index into this customer's orders.
    pub order: Option<usize>,
}

/// Text and people for one language.
struct Locale {
    code: &'static str,
    /// (name as written, latin form for the email address)
    first: &'static [(&'static str, &'static str)],
    last: &'static [(&'static str, &'static str)],
    email_domains: &'static [&'static str],
    phone_prefix: &'static str,
    currency: &'static str,
    /// Customer messages; `{order}` is replaced by an order number, `{product}` by a product.
    inbound: &'static [&'static str],
    outbound: &'static [&'static str],
    subjects: &'static [&'static str],
    products: &'static [(&'static str, i64)],
    notes: &'static [&'static str],
    reasons: &'static [&'static str],
}

const LOCALES: [Locale; 4] = [
    Locale {
        code: "he",
        first: &[
            ("דנה", "dana"),
            ("יוסי", "yossi"),
            ("מיכל", "michal"),
            ("אבי", "avi"),
            ("נועה", "noa"),
            ("רונית", "ronit"),
            ("איתי", "itay"),
            ("שירה", "shira"),
            ("תמר", "tamar"),
            ("עומר", "omer"),
        ],
        last: &[
            ("לוי", "levi"),
            ("כהן", "cohen"),
            ("מזרחי", "mizrahi"),
            ("פרץ", "peretz"),
            ("ביטון", "biton"),
            ("אברהם", "avraham"),
            ("פרידמן", "friedman"),
            ("שפירא", "shapira"),
        ],
        email_domains: &["gmail.com", "walla.co.il", "012.net.il"],
        phone_prefix: "+9725",
        currency: "ILS",
        inbound: &[
            "שלום, ההזמנה שלי {order} עדיין לא הגיעה. אפשר לבדוק בבקשה?",
            "היי, קיבלתי את ה{product} והוא פשוט מושלם! תודה רבה 🌻",
            "האם אפשר להחליף את ה{product} למידה אחרת?",
            "שלום,\nהחבילה הגיעה פגומה.\n\nמצרפת תמונה. מה עושים?",
            "מתי ה{product} יחזור למלאי?",
            "ההזמנה {order} — tracking number RR123456789IL לא עובד באתר של הדואר",
            "תודה על השירות המהיר! אזמין שוב בקרוב.",
        ],
        outbound: &[
            "היי! בדקתי, ההזמנה {order} נשלחה אתמול ותגיע תוך 2–3 ימי עסקים.",
            "שמחים לשמוע! תודה שבחרת בנו 🌻",
            "בטח, אפשר להחליף. שלחי לנו את ה{product} ונשלח מידה חדשה ללא עלות.",
            "מצטערים מאוד! נשלח {product} חדש עוד היום.",
            "ה{product} יחזור למלאי בשבוע הבא, נעדכן אותך.",
        ],
        subjects: &["ההזמנה שלי {order}", "שאלה על {product}", "החלפה", "משלוח"],
        products: &[
            ("צעיף משי", 18900),
            ("ספל קרמיקה", 6900),
            ("נר ריחני", 8900),
            ("תיק בד", 12900),
            ("שרשרת כסף", 24900),
        ],
        notes: &[
            "לקוחה קבועה, מעדיפה וואטסאפ",
            "ביקש חשבונית על שם העסק",
            "לשלוח דוגמית במשלוח הבא",
        ],
        reasons: &[
            "לבדוק שההזמנה הגיעה",
            "לשאול אם המידה מתאימה",
            "להציע הנחה לקנייה הבאה",
        ],
    },
    Locale {
        code: "ar",
        first: &[
            ("أحمد", "ahmad"),
            ("فاطمة", "fatima"),
            ("ليلى", "layla"),
            ("محمد", "mohammad"),
            ("نور", "nour"),
            ("سارة", "sara"),
            ("يوسف", "yousef"),
            ("مريم", "maryam"),
            ("خالد", "khaled"),
            ("رنا", "rana"),
        ],
        last: &[
            ("حداد", "haddad"),
            ("خوري", "khoury"),
            ("نصار", "nassar"),
            ("عيسى", "issa"),
            ("سليمان", "suleiman"),
            ("منصور", "mansour"),
            ("عودة", "odeh"),
        ],
        email_domains: &["gmail.com", "hotmail.com", "yahoo.com"],
        phone_prefix: "+9627",
        currency: "AED",
        inbound: &[
            "مرحبا، طلبي {order} لم يصل بعد. هل يمكنكم التحقق؟",
            "وصلني {product} وهو رائع جداً، شكراً لكم!",
            "هل يمكن استبدال {product} بلون آخر؟",
            "السلام عليكم،\nالطرد وصل متضرراً.\n\nأرفقت صورة. ماذا أفعل؟",
            "متى سيتوفر {product} مرة أخرى؟",
            "الطلب {order} — رقم التتبع لا يعمل on the courier website",
        ],
        outbound: &[
            "أهلاً! تحققنا، الطلب {order} شُحن أمس وسيصل خلال يومين إلى ثلاثة أيام.",
            "يسعدنا ذلك! شكراً لاختيارك متجرنا 🌻",
            "بالتأكيد، يمكن الاستبدال. أرسل لنا {product} وسنرسل البديل مجاناً.",
            "نعتذر جداً! سنرسل {product} جديداً اليوم.",
        ],
        subjects: &["طلبي {order}", "سؤال عن {product}", "استبدال", "الشحن"],
        products: &[
            ("وشاح حرير", 21000),
            ("كوب سيراميك", 7500),
            ("شمعة معطرة", 9500),
            ("حقيبة قماش", 13000),
        ],
        notes: &[
            "عميلة دائمة، تفضل واتساب",
            "يريد فاتورة باسم الشركة",
            "إرسال عينة مع الطلب القادم",
        ],
        reasons: &[
            "التأكد من وصول الطلب",
            "السؤال عن رأيها بالمنتج",
            "عرض خصم للطلب القادم",
        ],
    },
    Locale {
        code: "pl",
        first: &[
            ("Zofia", "zofia"),
            ("Łukasz", "lukasz"),
            ("Małgorzata", "malgorzata"),
            ("Paweł", "pawel"),
            ("Agnieszka", "agnieszka"),
            ("Michał", "michal"),
            ("Katarzyna", "katarzyna"),
            ("Piotr", "piotr"),
            ("Joanna", "joanna"),
            ("Grzegorz", "grzegorz"),
        ],
        last: &[
            ("Kowalska", "kowalska"),
            ("Wiśniewski", "wisniewski"),
            ("Wójcik", "wojcik"),
            ("Kamińska", "kaminska"),
            ("Lewandowski", "lewandowski"),
            ("Zielińska", "zielinska"),
            ("Szymański", "szymanski"),
        ],
        email_domains: &["gmail.com", "wp.pl", "onet.pl", "o2.pl"],
        phone_prefix: "+485",
        currency: "PLN",
        inbound: &[
            "Dzień dobry, moje zamówienie {order} jeszcze nie dotarło. Czy mogą Państwo sprawdzić?",
            "Dostałam {product} i jest przepiękny! Dziękuję bardzo.",
            "Czy mogę wymienić {product} na inny rozmiar?",
            "Dzień dobry,\npaczka przyszła uszkodzona.\n\nZałączam zdjęcie. Co robimy?",
            "Kiedy {product} będzie znowu dostępny?",
            "Czy wysyłacie za granicę? Mieszkam w Niemczech, ale mam polski numer.",
            "Żółty kolor jest jeszcze dostępny? Szukam prezentu dla mamy.",
        ],
        outbound: &[
            "Dzień dobry! Sprawdziłam — zamówienie {order} zostało wysłane wczoraj, dotrze w ciągu 2–3 dni roboczych.",
            "Bardzo się cieszymy! Dziękujemy za zakupy 🌻",
            "Oczywiście, wymiana jest możliwa. Prosimy odesłać {product}, nowy rozmiar wyślemy bezpłatnie.",
            "Bardzo przepraszamy! Jeszcze dziś wyślemy nowy {product}.",
            "Tak, żółty jest dostępny w magazynie.",
        ],
        subjects: &[
            "Zamówienie {order}",
            "Pytanie o {product}",
            "Wymiana",
            "Wysyłka",
        ],
        products: &[
            ("Jedwabny szal", 18900),
            ("Kubek ceramiczny", 5900),
            ("Świeca zapachowa", 7900),
            ("Torba płócienna", 9900),
        ],
        notes: &[
            "Stała klientka, woli WhatsApp",
            "Prosi o fakturę na firmę",
            "Dołączyć próbkę do następnej paczki",
        ],
        reasons: &[
            "Sprawdzić, czy paczka dotarła",
            "Zapytać, czy rozmiar pasuje",
            "Zaproponować rabat na kolejne zakupy",
        ],
    },
    Locale {
        code: "en",
        first: &[
            ("Emma", "emma"),
            ("Oliver", "oliver"),
            ("Sophie", "sophie"),
            ("James", "james"),
            ("Amelia", "amelia"),
            ("Harry", "harry"),
            ("Grace", "grace"),
            ("Jack", "jack"),
            ("Chloe", "chloe"),
            ("Daniel", "daniel"),
        ],
        last: &[
            ("Smith", "smith"),
            ("Brown", "brown"),
            ("Taylor", "taylor"),
            ("Wilson", "wilson"),
            ("Evans", "evans"),
            ("Walker", "walker"),
            ("Hughes", "hughes"),
            ("O'Brien", "obrien"),
        ],
        email_domains: &["gmail.com", "outlook.com", "icloud.com", "yahoo.co.uk"],
        phone_prefix: "+447",
        currency: "GBP",
        inbound: &[
            "Hi, my order {order} still hasn't arrived. Could you check please?",
            "Got the {product} today and it's gorgeous, thank you!",
            "Can I exchange the {product} for a different size?",
            "Hello,\nthe parcel arrived damaged.\n\nPhoto attached. What should I do?",
            "When will the {product} be back in stock?",
            "Do you do gift wrapping? It's for my mum's birthday.",
        ],
        outbound: &[
            "Hi! I checked: order {order} shipped yesterday and should arrive in 2–3 working days.",
            "So glad you like it! Thanks for shopping with us 🌻",
            "Of course. Send the {product} back and we'll post the new size free of charge.",
            "So sorry about that! We'll send a new {product} today.",
            "Yes, gift wrapping is free, just add a note at checkout.",
        ],
        subjects: &[
            "Order {order}",
            "Question about the {product}",
            "Exchange",
            "Delivery",
        ],
        products: &[
            ("Silk scarf", 4500),
            ("Ceramic mug", 1600),
            ("Scented candle", 2200),
            ("Canvas tote", 2800),
            ("Silver necklace", 5900),
        ],
        notes: &[
            "Regular customer, prefers WhatsApp",
            "Wants invoices in the company's name",
            "Add a sample to the next parcel",
        ],
        reasons: &[
            "Check the parcel arrived",
            "Ask if the size fits",
            "Offer a discount on the next order",
        ],
    },
];

const CUSTOMER_TAGS: &[&str] = &["vip", "wholesale", "returning"];
const CONVERSATION_TAGS: &[&str] = &["shipping", "exchange", "damaged", "gift", "stock"];

/// Generates the demo shop, handing each customer to `sink` in order. Stops at the
/// first error the sink returns.
pub fn generate<E>(
    opts: &DemoOptions,
    mut sink: impl FnMut(DemoCustomer) -> Result<(), E>,
) -> Result<(), E> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let n = opts.customers.max(1);
    let base = opts.messages / n;
    let remainder = opts.messages % n;
    let mut next_order = 1001u64;
    let mut jitter = 0i64;
    for i in 0..n {
        // Uneven but exact: odd customers take back what even ones were given.
        let mut count = base as i64 + i64::from(i < remainder);
        if i % 2 == 0 && i + 1 < n {
            jitter = rng.random_range(-(base as i64 / 2)..=(base as i64 / 2));
            count += jitter;
        } else if i % 2 == 1 {
            count -= jitter;
        }
        let customer = make_customer(&mut rng, opts, i, count.max(0) as usize, &mut next_order);
        sink(customer)?;
    }
    Ok(())
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn make_customer(
    rng: &mut ChaCha8Rng,
    opts: &DemoOptions,
    index: usize,
    messages: usize,
    next_order: &mut u64,
) -> DemoCustomer {
    let locale = &LOCALES[index % LOCALES.len()];
    let (first, first_latin) = *pick(rng, locale.first);
    let (last, last_latin) = *pick(rng, locale.last);
    let name = format!("{first} {last}");
    // The index keeps addresses and phones unique however many customers there are.
    let email = format!(
        "{first_latin}.{last_latin}{index}@{}",
        pick(rng, locale.email_domains)
    );
    let phone = format!(
        "{}{:08}",
        locale.phone_prefix,
        (index as u64 * 7_919 + 1_234_567) % 100_000_000
    );

    // Channels: most customers use one, every third uses both (one timeline, two channels).
    let (email_conv, chat_conv) = match index % 3 {
        0 => (true, true),
        1 => (true, false),
        _ => (false, true),
    };
    let mut identities = Vec::new();
    if email_conv || index.is_multiple_of(5) {
        identities.push(DemoIdentity {
            kind: IdentityKind::Email,
            value: email.clone(),
            display: format!("{name} <{email}>"),
        });
    }
    if chat_conv || index.is_multiple_of(4) {
        identities.push(DemoIdentity {
            kind: IdentityKind::Phone,
            value: phone.clone(),
            display: phone.clone(),
        });
    }
    if chat_conv {
        identities.push(DemoIdentity {
            kind: IdentityKind::Whatsapp,
            value: phone.clone(),
            display: name.clone(),
        });
    }

    // Orders come first: messages talk about them.
    let mut orders = Vec::new();
    for _ in 0..rng.random_range(0..=3u32) {
        let created_at = opts.anchor
            - rng.random_range(2..120) * DAY
            - rng.random_range(0..DAY / MINUTE) * MINUTE;
        let fulfilled = rng.random_bool(0.75);
        let lines: Vec<DemoOrderLine> = (0..rng.random_range(1..=3))
            .map(|k| {
                let (title, price) = *pick(rng, locale.products);
                DemoOrderLine {
                    title,
                    sku: format!("SF-{}-{k}", locale.code.to_uppercase()),
                    quantity: rng.random_range(1..=2),
                    price_minor: price,
                }
            })
            .collect();
        let total_minor = lines.iter().map(|l| l.quantity * l.price_minor).sum();
        orders.push(DemoOrder {
            number: format!("#{next_order}"),
            currency: locale.currency,
            total_minor,
            financial_status: if rng.random_bool(0.05) {
                "refunded"
            } else {
                "paid"
            },
            fulfillment_status: if fulfilled {
                "fulfilled"
            } else {
                "unfulfilled"
            },
            created_at,
            fulfilled_at: fulfilled.then(|| created_at + rng.random_range(1..4) * DAY),
            lines,
        });
        *next_order += 1;
    }
    let order_ref = orders
        .first()
        .map_or_else(|| format!("#{}", 900 + index), |o| o.number.clone());

    let mut conversations = Vec::new();
    let channels: Vec<Channel> = [(email_conv, Channel::Email), (chat_conv, Channel::Whatsapp)]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect();
    let per_channel = messages / channels.len();
    for (ci, channel) in channels.iter().enumerate() {
        let count = if ci == 0 {
            messages - per_channel * (channels.len() - 1)
        } else {
            per_channel
        };
        if count == 0 {
            continue;
        }
        conversations.push(make_conversation(
            rng, opts, locale, *channel, index, ci, count, &name, &email, &order_ref,
        ));
    }

    let notes = if rng.random_bool(0.3) {
        vec![DemoNote {
            body: pick(rng, locale.notes).to_string(),
            at: opts.anchor - rng.random_range(1..30) * DAY,
            author: rng.random_range(0..MEMBERS.len()),
        }]
    } else {
        Vec::new()
    };

    // Follow-ups: overdue, due today, and later, so every view has something in it.
    let mut followups = Vec::new();
    if index.is_multiple_of(4) || index < 6 {
        let due_at = match index % 3 {
            0 => opts.anchor - rng.random_range(1..5) * DAY + 10 * HOUR,
            1 => opts.anchor + rng.random_range(9..18) * HOUR,
            _ => opts.anchor + rng.random_range(1..14) * DAY + 10 * HOUR,
        };
        followups.push(DemoFollowup {
            due_at,
            reason: pick(rng, locale.reasons).to_string(),
            order: (!orders.is_empty()).then_some(0),
        });
    }

    let mut tags = Vec::new();
    if rng.random_bool(0.2) {
        tags.push(*pick(rng, CUSTOMER_TAGS));
    }

    DemoCustomer {
        name,
        language: locale.code,
        identities,
        tags,
        conversations,
        orders,
        notes,
        followups,
    }
}

#[allow(clippy::too_many_arguments)]
fn make_conversation(
    rng: &mut ChaCha8Rng,
    opts: &DemoOptions,
    locale: &Locale,
    channel: Channel,
    index: usize,
    conv_index: usize,
    count: usize,
    name: &str,
    email: &str,
    order_ref: &str,
) -> DemoConversation {
    let product = pick(rng, locale.products).0;
    let fill = |t: &str| {
        t.replace("{order}", order_ref)
            .replace("{product}", product)
    };
    let subject = (channel == Channel::Email).then(|| fill(pick::<&str>(rng, locale.subjects)));
    // Chats are quick back-and-forth, email is slower; the last message lands in the last
    // few days so the inbox looks alive.
    let step = if channel == Channel::Email {
        3 * HOUR
    } else {
        7 * MINUTE
    };
    let end = opts.anchor - rng.random_range(5..(5 * DAY / MINUTE)) * MINUTE;
    let mut at = end - count as i64 * step;
    let mut messages = Vec::with_capacity(count);
    let mut thread: Vec<String> = Vec::new();
    for k in 0..count {
        at += rng
            .random_range(step / 2..=step * 3 / 2)
            .min(end - at)
            .max(MINUTE);
        // Customers open the conversation and mostly get an answer right after.
        let direction = if k == 0 || (k % 2 == 0) ^ rng.random_bool(0.2) {
            Direction::In
        } else {
            Direction::Out
        };
        let member = (direction == Direction::Out).then(|| rng.random_range(0..MEMBERS.len()));
        let body = match direction {
            Direction::Out => fill(pick::<&str>(rng, locale.outbound)),
            _ => fill(pick::<&str>(rng, locale.inbound)),
        };
        let author = match (direction, channel) {
            (Direction::Out, Channel::Email) => member
                .map_or(SHOP_CHAT_NAME, |m| MEMBERS[m].name)
                .to_owned(),
            (Direction::Out, _) => SHOP_CHAT_NAME.to_owned(),
            _ => name.to_owned(),
        };
        let source_key = format!("demo:{}:{index}:{conv_index}:{k}", opts.seed);
        let mut msg = DemoMessage {
            direction,
            author,
            member,
            sent_at: at,
            subject: None,
            body,
            source_key,
            rfc_message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            from_addr: None,
            to_addr: None,
        };
        if channel == Channel::Email {
            let id = format!("demo-{}-{index}-{k}@sunflower-shop.example", opts.seed);
            msg.subject = subject.as_ref().map(|s| {
                if k == 0 {
                    s.clone()
                } else {
                    format!("Re: {s}")
                }
            });
            msg.in_reply_to = thread.last().cloned();
            msg.references = thread.clone();
            let (from, to) = if direction == Direction::Out {
                (SHOP_EMAIL, email)
            } else {
                (email, SHOP_EMAIL)
            };
            msg.from_addr = Some(from.to_owned());
            msg.to_addr = Some(to.to_owned());
            msg.rfc_message_id = Some(id.clone());
            thread.push(id);
        }
        messages.push(msg);
    }
    let status = match rng.random_range(0..10) {
        0..=4 => Status::Open,
        5..=6 => Status::Pending,
        7 => Status::Snoozed,
        _ => Status::Closed,
    };
    let priority = match rng.random_range(0..20) {
        0 => Priority::Urgent,
        1..=3 => Priority::High,
        4..=5 => Priority::Low,
        _ => Priority::Normal,
    };
    DemoConversation {
        channel,
        subject,
        status,
        priority,
        assignee: rng
            .random_bool(0.6)
            .then(|| rng.random_range(0..MEMBERS.len())),
        snoozed_until: (status == Status::Snoozed)
            .then(|| opts.anchor + rng.random_range(1..7) * DAY + 9 * HOUR),
        tags: if rng.random_bool(0.4) {
            vec![*pick(rng, CONVERSATION_TAGS)]
        } else {
            Vec::new()
        },
        external_key: (channel != Channel::Email)
            .then(|| format!("demo:{}:{index}:{}", opts.seed, channel.as_str())),
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(opts: &DemoOptions) -> Vec<DemoCustomer> {
        let mut out = Vec::new();
        generate(opts, |c| {
            out.push(c);
            Ok::<(), ()>(())
        })
        .expect("the sink never fails");
        out
    }

    /// The same options give the same shop, a different seed a different one.
    #[test]
    fn deterministic_per_seed() {
        let opts = DemoOptions {
            anchor: 1_700_000_000_000,
            ..DemoOptions::default()
        };
        assert_eq!(collect(&opts), collect(&opts));
        let other = collect(&DemoOptions {
            seed: 2,
            ..opts.clone()
        });
        assert_ne!(collect(&opts), other);
    }

    /// The requested message total is met exactly, whatever the split.
    #[test]
    fn message_total_is_exact() {
        for (customers, messages) in [(48, 600), (7, 100), (10, 3), (1, 5)] {
            let shop = collect(&DemoOptions {
                customers,
                messages,
                ..DemoOptions::default()
            });
            let total: usize = shop
                .iter()
                .flat_map(|c| &c.conversations)
                .map(|c| c.messages.len())
                .sum();
            assert_eq!(total, messages, "{customers} customers");
            assert_eq!(shop.len(), customers);
        }
    }

    /// The default shop covers what the product must show: four languages, email and
    /// WhatsApp on one customer, follow-ups overdue/today/later, no message in the future.
    #[test]
    fn default_shop_is_varied() {
        let anchor = 1_700_000_000_000;
        let shop = collect(&DemoOptions {
            anchor,
            ..DemoOptions::default()
        });
        for lang in ["he", "ar", "pl", "en"] {
            assert!(shop.iter().any(|c| c.language == lang), "{lang}");
        }
        assert!(shop.iter().any(|c| c.conversations.len() == 2));
        let dues: Vec<Millis> = shop
            .iter()
            .flat_map(|c| &c.followups)
            .map(|f| f.due_at)
            .collect();
        assert!(dues.iter().any(|d| *d < anchor));
        assert!(dues.iter().any(|d| (anchor..anchor + DAY).contains(d)));
        assert!(dues.iter().any(|d| *d >= anchor + DAY));
        let newest = shop
            .iter()
            .flat_map(|c| &c.conversations)
            .flat_map(|c| &c.messages)
            .map(|m| m.sent_at)
            .max();
        assert!(newest.is_some_and(|n| n < anchor));
    }

    /// Email threads chain: each reply points at the previous message.
    #[test]
    fn email_replies_reference_their_parent() {
        let shop = collect(&DemoOptions::default());
        let conv = shop
            .iter()
            .flat_map(|c| &c.conversations)
            .find(|c| c.channel == Channel::Email && c.messages.len() > 2)
            .expect("an email thread");
        for pair in conv.messages.windows(2) {
            assert_eq!(pair[1].in_reply_to, pair[0].rfc_message_id);
        }
    }
}
