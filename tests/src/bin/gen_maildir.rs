//! `gen-maildir --messages N --seed S OUT_DIR`: writes a deterministic Maildir++ tree of a
//! small shop's support mail, for the import speed bench (`bench/maildir`).
//!
//! What it looks like: customers with Hebrew, Arabic, Polish and English names writing
//! about orders; threads with Message-ID / In-Reply-To / References; the shop's replies
//! (From shop@shop.test) in `.Sent`; older threads in `.Archive`, some in a folder with an
//! IMAP-UTF7 Hebrew name. Bodies are mostly 1–4 KB of text (8bit, quoted-printable or
//! base64; UTF-8, some Polish in ISO-8859-2), some multipart/alternative with HTML, about
//! 10% with a 50–300 KB base64 attachment (PDF or JPEG-looking random bytes). Subjects and
//! names are RFC 2047 encoded words. Same N and seed, byte-identical output.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SHOP: &str = "shop@shop.test";
const SHOP_NAME: &str = "Linen & Thread";
/// The newest message is sent before this instant (2025-01-01T00:00:00Z); threads spread
/// over the two years before it.
const ANCHOR: i64 = 1_735_689_600;
const SPAN: i64 = 2 * 365 * 86_400;
const AGENTS: &[&str] =
    &["User-Agent: Mozilla Thunderbird", "X-Mailer: iPhone Mail (21F90)", "X-Mailer: Microsoft Outlook 16.0", "User-Agent: Roundcube Webmail/1.6.6"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    He,
    Ar,
    Pl,
    En,
}

struct Pools {
    first: &'static [(&'static str, &'static str)],
    last: &'static [&'static str],
    domains: &'static [&'static str],
    subjects: &'static [&'static str],
    customer: &'static [&'static str],
    shop: &'static [&'static str],
    greeting: &'static str,
    thanks: &'static str,
    wrote: &'static str,
}

fn pools(lang: Lang) -> &'static Pools {
    match lang {
        Lang::He => &HE,
        Lang::Ar => &AR,
        Lang::Pl => &PL,
        Lang::En => &EN,
    }
}

static HE: Pools = Pools {
    first: &[("נועה", "noa"), ("יוסי", "yossi"), ("מיכל", "michal"), ("דוד", "david"), ("שירה", "shira"), ("אורי", "uri"), ("תמר", "tamar"), ("איתי", "itai"), ("רונית", "ronit"), ("אבי", "avi")],
    last: &["כהן", "לוי", "אברהם", "מזרחי", "פרץ", "ביטון", "פרידמן", "שפירא", "אזולאי", "דהן"],
    domains: &["gmail.com", "walla.co.il", "012.net.il", "hotmail.com", "bezeqint.net"],
    subjects: &["שאלה לגבי הזמנה #{n}", "המשלוח שלי לא הגיע", "החלפת מידה בהזמנה {n}", "החזר כספי להזמנה {n}", "האם החולצה חזרה למלאי?", "טעות בכתובת למשלוח – הזמנה {n}"],
    customer: &[
        "הזמנתי לפני שבועיים ועדיין לא קיבלתי שום עדכון על המשלוח.",
        "המידה שהגיעה קטנה מדי, אפשר להחליף למידה M?",
        "הצבע בתמונה באתר שונה ממה שקיבלתי בפועל.",
        "אשמח לדעת מתי הפריט יחזור למלאי, אני מחכה לו כבר חודש.",
        "קיבלתי את החבילה אבל חסר בה פריט אחד מתוך שלושה.",
        "האם אפשר לשלוח את ההזמנה לכתובת אחרת בתל אביב?",
        "שילמתי פעמיים על אותה הזמנה, אפשר לבדוק את זה בבקשה?",
        "הבד נעים מאוד, רק הכפתור השני נפל אחרי כביסה אחת.",
    ],
    shop: &[
        "תודה שכתבת לנו, בדקנו את ההזמנה שלך במערכת.",
        "החבילה יצאה אתמול עם שליח ותגיע תוך שלושה ימי עסקים.",
        "שלחנו לך מדבקת החזרה, אפשר למסור את החבילה בכל סניף דואר.",
        "ההחזר הכספי בוצע לכרטיס האשראי ויופיע בחיוב הבא.",
        "הפריט יחזור למלאי בשבוע הבא ונעדכן אותך במייל.",
    ],
    greeting: "שלום,",
    thanks: "תודה רבה",
    wrote: "כתב/ה:",
};

static AR: Pools = Pools {
    first: &[("أحمد", "ahmad"), ("فاطمة", "fatima"), ("محمد", "mohammad"), ("ليلى", "layla"), ("يوسف", "yousef"), ("مريم", "maryam"), ("عمر", "omar"), ("نور", "nour"), ("سلمى", "salma"), ("خالد", "khaled")],
    last: &["الخطيب", "حداد", "العلي", "منصور", "ناصر", "سليمان", "حسن", "عبدالله", "عيسى", "داود"],
    domains: &["gmail.com", "hotmail.com", "yahoo.com", "outlook.com"],
    subjects: &["استفسار عن الطلب رقم {n}", "لم يصل طلبي بعد", "استبدال المقاس للطلب {n}", "استرجاع المبلغ للطلب {n}", "هل المنتج متوفر مرة أخرى؟", "خطأ في عنوان التوصيل"],
    customer: &[
        "طلبت منذ أسبوعين ولم يصلني أي تحديث عن الشحنة حتى الآن.",
        "المقاس الذي وصلني صغير جداً، هل يمكن استبداله بمقاس أكبر؟",
        "اللون في الصورة على الموقع مختلف عن اللون الذي استلمته.",
        "أرجو إعلامي متى سيعود هذا المنتج إلى المخزون.",
        "استلمت الطرد لكن ينقصه قطعة واحدة من أصل ثلاث.",
        "هل يمكن إرسال الطلب إلى عنوان آخر في حيفا؟",
        "تم خصم المبلغ مرتين من بطاقتي، أرجو التحقق من ذلك.",
        "القماش ممتاز لكن الزر سقط بعد الغسلة الأولى.",
    ],
    shop: &[
        "شكراً لتواصلك معنا، لقد راجعنا طلبك في النظام.",
        "تم شحن الطرد أمس وسيصل خلال ثلاثة أيام عمل.",
        "أرسلنا لك ملصق الإرجاع، يمكنك تسليم الطرد في أي مكتب بريد.",
        "تم إرجاع المبلغ إلى بطاقتك الائتمانية.",
        "سيعود المنتج إلى المخزون الأسبوع القادم وسنبلغك بالبريد.",
    ],
    greeting: "مرحباً،",
    thanks: "مع الشكر",
    wrote: "كتب:",
};

static PL: Pools = Pools {
    first: &[("Łukasz", "lukasz"), ("Małgorzata", "malgorzata"), ("Zofia", "zofia"), ("Paweł", "pawel"), ("Agnieszka", "agnieszka"), ("Grzegorz", "grzegorz"), ("Katarzyna", "katarzyna"), ("Michał", "michal"), ("Jolanta", "jolanta"), ("Wojciech", "wojciech")],
    last: &["Wiśniewski", "Kowalczyk", "Wójcik", "Zieliński", "Dąbrowska", "Szymański", "Woźniak", "Kamiński", "Lewandowska", "Król"],
    domains: &["wp.pl", "onet.pl", "o2.pl", "interia.pl", "gmail.com"],
    subjects: &["Pytanie o zamówienie nr {n}", "Moja przesyłka nie dotarła", "Wymiana rozmiaru – zamówienie {n}", "Zwrot pieniędzy za zamówienie {n}", "Czy żółta sukienka będzie znowu dostępna?", "Reklamacja – zamówienie {n}"],
    customer: &[
        "Zamówiłam dwa tygodnie temu i wciąż nie dostałam żadnej informacji o wysyłce.",
        "Rozmiar, który przyszedł, jest za mały – czy mogę wymienić na M?",
        "Kolor na zdjęciu w sklepie różni się od tego, który otrzymałem.",
        "Proszę o informację, kiedy ten produkt wróci do sprzedaży.",
        "Paczka dotarła, ale brakuje w niej jednej z trzech rzeczy.",
        "Czy można wysłać zamówienie na inny adres w Łodzi?",
        "Za to samo zamówienie pobrano płatność dwukrotnie, proszę to sprawdzić.",
        "Materiał jest świetny, tylko drugi guzik odpadł po pierwszym praniu.",
    ],
    shop: &[
        "Dziękujemy za wiadomość, sprawdziliśmy Pani/Pana zamówienie w systemie.",
        "Paczka wyszła wczoraj kurierem i dotrze w ciągu trzech dni roboczych.",
        "Wysłaliśmy etykietę zwrotną, paczkę można nadać w każdym punkcie.",
        "Zwrot środków został zlecony na kartę płatniczą.",
        "Produkt wróci do sprzedaży w przyszłym tygodniu, damy znać mailem.",
    ],
    greeting: "Dzień dobry,",
    thanks: "Pozdrawiam serdecznie",
    wrote: "napisał(a):",
};

static EN: Pools = Pools {
    first: &[("Emily", "emily"), ("James", "james"), ("Sarah", "sarah"), ("Daniel", "daniel"), ("Olivia", "olivia"), ("Thomas", "thomas"), ("Hannah", "hannah"), ("George", "george"), ("Chloe", "chloe"), ("Liam", "liam")],
    last: &["Carter", "O'Brien", "Mitchell", "Hughes", "Bennett", "Reed", "Brooks", "Fletcher", "Nguyen", "Patel"],
    domains: &["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "proton.me"],
    subjects: &["Question about order #{n}", "My parcel hasn't arrived", "Exchange for a different size (order {n})", "Refund for order {n}", "Is the linen shirt back in stock?", "Wrong delivery address on order {n}"],
    customer: &[
        "I ordered two weeks ago and still have not had any shipping update.",
        "The size that arrived is too small, could I swap it for a medium?",
        "The colour in the photo on your site is different from what I received.",
        "Please let me know when this item will be back in stock.",
        "The parcel arrived but one of the three items is missing.",
        "Could you send the order to a different address in Leeds instead?",
        "I was charged twice for the same order, could you check that please?",
        "The fabric is lovely, only the second button came off after one wash.",
    ],
    shop: &[
        "Thanks for writing to us, we have looked up your order.",
        "The parcel left yesterday with the courier and should arrive within three working days.",
        "We have emailed you a returns label; any post office will take the parcel.",
        "The refund has been issued to your card and will show on your next statement.",
        "The item is due back in stock next week and we will let you know by email.",
    ],
    greeting: "Hello,",
    thanks: "Many thanks",
    wrote: "wrote:",
};

struct Customer {
    lang: Lang,
    name: String,
    email: String,
}

/// One message of a thread, before it is rendered.
struct Msg {
    from_shop: bool,
    at: i64,
    message_id: String,
    parents: Vec<String>,
    subject: String,
    body: String,
}

struct Out {
    root: PathBuf,
    seq: u64,
    files: u64,
    bytes: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut messages, mut seed, mut out) = (1000usize, 1u64, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--messages" => messages = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            other if out.is_none() && !other.starts_with('-') => out = Some(PathBuf::from(other)),
            _ => usage(),
        }
    }
    let Some(root) = out else { usage() };
    if let Err(e) = generate(&root, messages, seed) {
        eprintln!("gen-maildir: {e}");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: gen-maildir --messages N --seed S OUT_DIR");
    std::process::exit(2);
}

fn generate(root: &Path, total: usize, seed: u64) -> std::io::Result<()> {
    for folder in ["", ".Sent", ".Archive", ".&BdQF1gXeBeAF1QXq-"] {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join(folder).join(sub))?;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let customers: Vec<Customer> = (0..(total / 12).max(8)).map(|i| make_customer(&mut rng, i)).collect();
    let mut out = Out { root: root.to_owned(), seq: 0, files: 0, bytes: 0 };
    let mut written = 0;
    let mut order = 10_000u32;
    while written < total {
        let customer = &customers[rng.random_range(0..customers.len())];
        order += rng.random_range(1..4);
        let len = (1 + rng.random_range(0..4) + rng.random_range(0..4)).min(total - written);
        let thread = make_thread(&mut rng, customer, order, len);
        let folder = match rng.random_range(0..20) {
            0..=2 => ".Archive",
            3 => ".&BdQF1gXeBeAF1QXq-",
            _ => "",
        };
        for m in &thread {
            let bytes = render(&mut rng, customer, m);
            let recent = m.at > ANCHOR - 3 * 86_400;
            let (dir, flags) = if m.from_shop {
                (".Sent", "S")
            } else if recent && rng.random_bool(0.5) {
                (folder, "")
            } else if rng.random_bool(0.3) {
                (folder, "RS")
            } else {
                (folder, "S")
            };
            out.write(dir, m.at, flags, recent && flags.is_empty(), &bytes)?;
            written += 1;
        }
    }
    eprintln!("gen-maildir: {} messages, {} bytes in {}", out.files, out.bytes, root.display());
    Ok(())
}

impl Out {
    fn write(&mut self, folder: &str, at: i64, flags: &str, new: bool, bytes: &[u8]) -> std::io::Result<()> {
        self.seq += 1;
        let base = format!("{at}.M{}P{}Q{}.gen.shop.test,S={}", self.seq % 1_000_000, 4000 + self.seq % 997, self.seq, bytes.len());
        let path = if new {
            self.root.join(folder).join("new").join(base)
        } else {
            self.root.join(folder).join("cur").join(format!("{base}:2,{flags}"))
        };
        std::fs::write(path, bytes)?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}

fn make_customer(rng: &mut ChaCha8Rng, i: usize) -> Customer {
    let lang = match rng.random_range(0..10) {
        0..=2 => Lang::He,
        3..=4 => Lang::Ar,
        5..=7 => Lang::Pl,
        _ => Lang::En,
    };
    let p = pools(lang);
    let (first, latin) = *pick(rng, p.first);
    let last = *pick(rng, p.last);
    let domain = *pick(rng, p.domains);
    Customer { lang, name: format!("{first} {last}"), email: format!("{latin}.{}{i}@{domain}", rng.random_range(1..99)) }
}

fn make_thread(rng: &mut ChaCha8Rng, c: &Customer, order: u32, len: usize) -> Vec<Msg> {
    let p = pools(c.lang);
    let subject = pick(rng, p.subjects).replace("{n}", &order.to_string());
    let mut at = ANCHOR - rng.random_range(3600..SPAN);
    let mut out: Vec<Msg> = Vec::with_capacity(len);
    for k in 0..len {
        // Mostly alternating, customer first; sometimes the customer writes twice.
        let from_shop = k > 0 && !out[k - 1].from_shop && rng.random_bool(0.85);
        let domain = if from_shop { "shop.test" } else { c.email.rsplit('@').next().unwrap_or("mail.test") };
        let message_id = format!("{:016x}.{:08x}@{domain}", rng.random::<u64>(), rng.random::<u32>());
        let parents = match out.last() {
            Some(prev) => {
                let mut refs = prev.parents.clone();
                refs.push(prev.message_id.clone());
                refs
            }
            None => Vec::new(),
        };
        let subject = if k == 0 {
            subject.clone()
        } else if c.lang == Lang::He && rng.random_bool(0.3) {
            format!("תשובה: {subject}")
        } else {
            format!("Re: {subject}")
        };
        let body = make_body(rng, c, from_shop, out.last());
        out.push(Msg { from_shop, at, message_id, parents, subject, body });
        at = (at + rng.random_range(600..3 * 86_400)).min(ANCHOR - 60);
    }
    out
}

/// 1–4 KB of text: greeting, paragraphs, sign-off, and the quoted previous message.
fn make_body(rng: &mut ChaCha8Rng, c: &Customer, from_shop: bool, prev: Option<&Msg>) -> String {
    let p = pools(c.lang);
    let target = rng.random_range(500..2400);
    let mut body = String::with_capacity(target + 200);
    let first_name = c.name.split(' ').next().unwrap_or_default();
    let _ = writeln!(body, "{} {}\n", p.greeting, if from_shop { first_name } else { "" });
    let sentences = if from_shop { p.shop } else { p.customer };
    while body.len() < target * 2 / 3 {
        for _ in 0..rng.random_range(2..5) {
            body.push_str(pick::<&str>(rng, sentences));
            body.push(' ');
        }
        body.push_str("\n\n");
    }
    let _ = writeln!(body, "{}\n{}", p.thanks, if from_shop { SHOP_NAME } else { &c.name });
    if let Some(prev) = prev {
        let who = if prev.from_shop { SHOP } else { &c.email };
        let _ = writeln!(body, "\n{} <{who}> {}", date_header(prev.at, 0), p.wrote);
        for line in prev.body.lines() {
            if body.len() >= target {
                break;
            }
            let _ = writeln!(body, "> {line}");
        }
    }
    body
}

fn render(rng: &mut ChaCha8Rng, c: &Customer, m: &Msg) -> Vec<u8> {
    let mut h = String::with_capacity(1024);
    let (from, to) = if m.from_shop {
        (address(rng, SHOP_NAME, SHOP), address(rng, &c.name, &c.email))
    } else {
        (address(rng, &c.name, &c.email), address(rng, SHOP_NAME, SHOP))
    };
    let tz = match c.lang {
        Lang::He | Lang::Ar => [120, 180][rng.random_range(0..2)],
        Lang::Pl => [60, 120][rng.random_range(0..2)],
        Lang::En => [0, 60][rng.random_range(0..2)],
    };
    if !m.from_shop {
        let _ = writeln!(h, "Return-Path: <{}>", c.email);
        let _ = writeln!(h, "Delivered-To: {SHOP}");
        let _ = writeln!(
            h,
            "Received: from mx{}.{} (mx{}.{} [203.0.113.{}])\n\tby mail.shop.test (Postfix) with ESMTPS id {:010X}\n\tfor <{SHOP}>; {}",
            rng.random_range(1..9),
            c.email.rsplit('@').next().unwrap_or_default(),
            rng.random_range(1..9),
            c.email.rsplit('@').next().unwrap_or_default(),
            rng.random_range(1..250),
            rng.random::<u64>() & 0xff_ffff_ffff,
            date_header(m.at + 2, 0)
        );
    }
    let _ = writeln!(h, "Date: {}", date_header(m.at, tz));
    let _ = writeln!(h, "From: {from}");
    let _ = writeln!(h, "To: {to}");
    let _ = writeln!(h, "Subject: {}", encode_header_text(rng, &m.subject, c.lang));
    let _ = writeln!(h, "Message-ID: <{}>", m.message_id);
    if let Some(parent) = m.parents.last() {
        let _ = writeln!(h, "In-Reply-To: <{parent}>");
        let refs: Vec<String> = m.parents.iter().map(|r| format!("<{r}>")).collect();
        let _ = writeln!(h, "References: {}", refs.join("\n "));
    }
    let _ = writeln!(h, "MIME-Version: 1.0");
    let _ = writeln!(h, "{}", *pick(rng, AGENTS));

    let mut out = h.into_bytes();
    let with_attachment = rng.random_bool(0.10);
    let alternative = rng.random_bool(0.25);
    let text_part = text_part(rng, &m.body, c.lang);
    let body_part = if alternative {
        let boundary = format!("alt-{:016x}", rng.random::<u64>());
        let html = html_part(rng, &m.body, c.lang);
        format!(
            "Content-Type: multipart/alternative; boundary=\"{boundary}\"\n\n--{boundary}\n{text_part}\n--{boundary}\n{html}\n--{boundary}--\n"
        )
    } else {
        text_part
    };
    if with_attachment {
        let boundary = format!("mix-{:016x}", rng.random::<u64>());
        out.extend_from_slice(
            format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\nThis is a multi-part message in MIME format.\n--{boundary}\n{body_part}\n--{boundary}\n"
            )
            .as_bytes(),
        );
        attachment(rng, c.lang, &mut out);
        out.extend_from_slice(format!("\n--{boundary}--\n").as_bytes());
    } else {
        out.extend_from_slice(body_part.as_bytes());
    }
    out
}

/// Headers and body of a text/plain part (no leading blank line).
fn text_part(rng: &mut ChaCha8Rng, body: &str, lang: Lang) -> String {
    if lang == Lang::Pl && rng.random_bool(0.3) {
        let latin2: Vec<u8> = body.chars().map(to_latin2).collect();
        return format!("Content-Type: text/plain; charset=iso-8859-2\nContent-Transfer-Encoding: quoted-printable\n\n{}", qp(&latin2));
    }
    // Latin text goes quoted-printable, Hebrew and Arabic base64 (as Gmail sends them).
    let latin = matches!(lang, Lang::Pl | Lang::En);
    match rng.random_range(0..3) {
        0 => format!("Content-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 8bit\n\n{body}"),
        1 if latin => format!("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n{}", qp(body.as_bytes())),
        _ => format!("Content-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: base64\n\n{}", base64_lines(body.as_bytes())),
    }
}

fn html_part(rng: &mut ChaCha8Rng, body: &str, lang: Lang) -> String {
    let mut html = String::from("<html><head><meta charset=\"utf-8\"></head><body><div dir=\"auto\">\n");
    for para in body.split("\n\n") {
        let escaped = para.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br>\n");
        let _ = writeln!(html, "<p style=\"margin:0 0 1em\">{escaped}</p>");
    }
    if rng.random_bool(0.3) {
        html.push_str("<img src=\"https://tracker.example/open.gif\" width=\"1\" height=\"1\">\n");
    }
    html.push_str("</div></body></html>\n");
    if rng.random_bool(0.5) && matches!(lang, Lang::Pl | Lang::En) {
        format!("Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n{}", qp(html.as_bytes()))
    } else {
        format!("Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n{}", base64_lines(html.as_bytes()))
    }
}

fn attachment(rng: &mut ChaCha8Rng, lang: Lang, out: &mut Vec<u8>) {
    let size = rng.random_range(50 * 1024..300 * 1024) * 3 / 4; // so the encoded part is 50–300 KB
    let n = rng.random_range(100..9999);
    let (mime, name, magic): (&str, String, &[u8]) = match (rng.random_range(0..2), lang) {
        (0, Lang::Pl) => ("application/pdf", format!("faktura_{n}.pdf"), b"%PDF-1.4\n"),
        (0, Lang::He) => ("application/pdf", format!("חשבונית_{n}.pdf"), b"%PDF-1.4\n"),
        (0, _) => ("application/pdf", format!("invoice_{n}.pdf"), b"%PDF-1.4\n"),
        (_, Lang::Pl) => ("image/jpeg", format!("zdjęcie_{n}.jpg"), b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
        (_, Lang::Ar) => ("image/jpeg", format!("صورة_{n}.jpg"), b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
        _ => ("image/jpeg", format!("IMG_{n}.jpg"), b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
    };
    let mut data = vec![0u8; size];
    data[..magic.len()].copy_from_slice(magic);
    rng.fill_bytes(&mut data[magic.len()..]);
    let disposition = if name.is_ascii() {
        format!("filename=\"{name}\"")
    } else {
        // RFC 2231, as Thunderbird and Gmail write non-ASCII file names.
        format!("filename*=UTF-8''{}", percent(&name))
    };
    let header = format!(
        "Content-Type: {mime}; name=\"{}\"\nContent-Disposition: attachment; {disposition}\nContent-Transfer-Encoding: base64\n\n",
        if name.is_ascii() { name.clone() } else { encode_b(&name) }
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(base64_lines(&data).as_bytes());
}

/// `Name <addr>` with the name as RFC 2047 words when not ASCII, quoted when it has
/// specials, and sometimes a bare address.
fn address(rng: &mut ChaCha8Rng, name: &str, email: &str) -> String {
    if rng.random_bool(0.05) {
        return email.to_owned();
    }
    if name.is_ascii() {
        if name.contains(['\'', '&', ',', '.']) {
            return format!("\"{name}\" <{email}>");
        }
        return format!("{name} <{email}>");
    }
    if rng.random_bool(0.5) { format!("{} <{email}>", encode_b(name)) } else { format!("{} <{email}>", encode_q(name.as_bytes(), "UTF-8")) }
}

fn encode_header_text(rng: &mut ChaCha8Rng, text: &str, lang: Lang) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    if lang == Lang::Pl && rng.random_bool(0.3) {
        let latin2: Vec<u8> = text.chars().map(to_latin2).collect();
        return encode_q(&latin2, "ISO-8859-2");
    }
    if lang == Lang::Pl || rng.random_bool(0.2) { encode_q(text.as_bytes(), "UTF-8") } else { encode_b(text) }
}

/// RFC 2047 B words of at most 75 characters, split on character boundaries, folded.
fn encode_b(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in text.chars() {
        if chunk.len() + ch.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\n ")
}

/// RFC 2047 Q words; `bytes` is in `charset`. Multi-byte UTF-8 sequences stay in one word.
fn encode_q(bytes: &[u8], charset: &str) -> String {
    let prefix = format!("=?{charset}?Q?");
    let mut words = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let len = if charset == "UTF-8" { utf8_len(bytes[i]) } else { 1 };
        let mut enc = String::new();
        for &b in &bytes[i..(i + len).min(bytes.len())] {
            match b {
                b' ' => enc.push('_'),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => enc.push(b as char),
                _ => {
                    let _ = write!(enc, "={b:02X}");
                }
            }
        }
        if prefix.len() + word.len() + enc.len() + 2 > 75 {
            words.push(format!("{prefix}{word}?="));
            word.clear();
        }
        word.push_str(&enc);
        i += len;
    }
    words.push(format!("{prefix}{word}?="));
    words.join("\n ")
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// Quoted-printable with soft line breaks at 76 columns; LF line ends kept as hard breaks.
fn qp(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut col = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            out.push('\n');
            col = 0;
            continue;
        }
        let next_is_eol = bytes.get(i + 1).is_none_or(|n| *n == b'\n');
        let literal = (b == b' ' || b == b'\t') && !next_is_eol || (33..=126).contains(&b) && b != b'=';
        let piece = if literal { (b as char).to_string() } else { format!("={b:02X}") };
        if col + piece.len() > 75 {
            out.push_str("=\n");
            col = 0;
        }
        col += piece.len();
        out.push_str(&piece);
    }
    out
}

fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn to_latin2(c: char) -> u8 {
    match c {
        'ą' => 0xb1,
        'ć' => 0xe6,
        'ę' => 0xea,
        'ł' => 0xb3,
        'ń' => 0xf1,
        'ó' => 0xf3,
        'ś' => 0xb6,
        'ź' => 0xbc,
        'ż' => 0xbf,
        'Ą' => 0xa1,
        'Ć' => 0xc6,
        'Ę' => 0xca,
        'Ł' => 0xa3,
        'Ń' => 0xd1,
        'Ó' => 0xd3,
        'Ś' => 0xa6,
        'Ź' => 0xac,
        'Ż' => 0xaf,
        '–' => b'-',
        c if c.is_ascii() => c as u8,
        _ => b'?',
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { B64[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { B64[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Base64 in 76-column lines, each ending in LF.
fn base64_lines(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 + 4);
    for line in bytes.chunks(57) {
        out.push_str(&base64(line));
        out.push('\n');
    }
    out
}

/// RFC 5322 date of `secs` (UTC) shown in the zone `offset_min` minutes east.
fn date_header(secs: i64, offset_min: i64) -> String {
    let local = secs + offset_min * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} {}{:02}{:02}",
        WD[days.rem_euclid(7) as usize],
        MON[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        if offset_min < 0 { '-' } else { '+' },
        offset_min.abs() / 60,
        offset_min.abs() % 60
    )
}

/// Howard Hinnant's days-from-epoch to (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
