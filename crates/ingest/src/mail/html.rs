//! HTML mail made safe to show: no script, no active content, and nothing fetched from
//! the network. A remote image keeps its address in [`REMOTE_SRC_ATTRIBUTE`] instead of
//! `src`, so the UI can load it when the user asks ("show images"), and never before.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Where a remote image's URL goes: an `<img>` without `src` fetches nothing.
pub const REMOTE_SRC_ATTRIBUTE: &str = "data-remote-src";

/// Put in front of a remote `src` by the attribute filter (ammonia can change a value but
/// not rename an attribute), then turned into [`REMOTE_SRC_ATTRIBUTE`] after serialising.
/// Input cannot smuggle it in: the scheme is not allowed, so such a `src` is dropped.
const REMOTE_MARK: &str = "shopdesk-remote:";

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto", "cid", "data"]))
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        // Elements whose content is code or a fallback for active content go with it.
        .add_clean_content_tags([
            "title", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "noembed", "noframes",
            "template",
        ])
        // Layout-only markup that mail clients still produce.
        .add_tags(["font", "big", "tfoot"])
        .add_generic_attributes(["dir"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tag_attributes("img", ["border"])
        .add_tag_attributes("table", ["width", "border", "cellpadding", "cellspacing", "bgcolor"])
        .add_tag_attributes("tr", ["valign", "bgcolor"])
        .add_tag_attributes("td", ["width", "height", "valign", "bgcolor", "nowrap"])
        .add_tag_attributes("th", ["width", "height", "valign", "bgcolor", "nowrap"])
        // `cite` is a URL ammonia does not check; nothing needs it.
        .rm_tag_attributes("blockquote", ["cite"])
        .rm_tag_attributes("q", ["cite"])
        .rm_tag_attributes("del", ["cite"])
        .rm_tag_attributes("ins", ["cite"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") => image_src(value).map(Into::into),
            (_, "href") => is_link(value).then_some(value.into()),
            _ => Some(value.into()),
        });
    b
});

/// Most tags (counted as `<`) an HTML body may have to be parsed as HTML. The HTML
/// parser is quadratic on some nestings (20,000 nested `<ul><li>` take seconds); real
/// mail stays far below this, hostile mail beyond it is shown as plain text.
pub const MAX_HTML_TAGS: usize = 20_000;

/// Sanitises an HTML body with ammonia's allow-list plus the rules above. Inline `style`
/// attributes, `<style>` elements, `background` and `srcset` are not allowed at all: CSS
/// `url()` and those attributes would fetch remote content. A body over
/// [`MAX_HTML_TAGS`] becomes its text, escaped.
pub fn sanitize_html(html: &str) -> String {
    sanitize(html).0
}

/// The sanitised HTML, and whether it had to be reduced to text (too many tags).
pub(crate) fn sanitize(html: &str) -> (String, bool) {
    if html.bytes().filter(|b| *b == b'<').count() > MAX_HTML_TAGS {
        return (text_as_html(&mail_parser::decoders::html::html_to_text(html)), true);
    }
    let clean = CLEANER.clean(html).to_string();
    (move_remote_sources(&clean), false)
}

fn text_as_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str("<p>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push_str("</p>");
    out
}

/// Embedded images (`cid:`, `data:image/…`) stay; remote ones are marked to be moved out
/// of `src`; anything else (relative paths, other schemes) is dropped.
fn image_src(value: &str) -> Option<String> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("cid:") || lower.starts_with("data:image/") {
        Some(v.to_owned())
    } else if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//") {
        Some(format!("{REMOTE_MARK}{v}"))
    } else {
        None
    }
}

fn is_link(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Renames the marked `src` attributes of `<img>` tags. In ammonia's output `<` and `>`
/// are escaped everywhere except in tags, and `"` inside attribute values, so the text
/// between `<img` and the next `>` is exactly one tag and ` src="` in it starts the
/// attribute.
fn move_remote_sources(html: &str) -> String {
    let marked = format!(" src=\"{REMOTE_MARK}");
    let renamed = format!(" {REMOTE_SRC_ATTRIBUTE}=\"");
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img") {
        let (before, tag_and_after) = rest.split_at(start);
        out.push_str(before);
        let end = tag_and_after.find('>').map_or(tag_and_after.len(), |i| i + 1);
        let (tag, after) = tag_and_after.split_at(end);
        out.push_str(&tag.replacen(&marked, &renamed, 1));
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<html><head><title>Newsletter</title><style>body{background:url(http://tracker.example/css.png)}</style>
<link rel="stylesheet" href="http://tracker.example/s.css"><meta http-equiv="refresh" content="0;url=http://evil.example">
<base href="http://evil.example/"><script>alert(1)</script><script src="http://evil.example/x.js"></script></head>
<body onload="alert(2)" background="http://tracker.example/body.png">
<p style="background-image:url('http://tracker.example/bg.png')">Hello <b>Anna</b></p>
<img src="http://tracker.example/pixel.gif?u=1&amp;m=2" width="1" height="1" onerror="alert(3)">
<img src="//tracker.example/proto-relative.gif"><img src="HTTPS://tracker.example/upper.gif">
<img src="cid:logo@shop"><img src="data:image/png;base64,iVBORw0KGgo=">
<img src="file:///etc/passwd"><img src="local/relative.png" srcset="http://tracker.example/2x.png 2x">
<table background="http://tracker.example/table.png"><tr><td background="http://tracker.example/td.png">cell</td></tr></table>
<a href="javascript:alert(4)">click</a> <a href=" JaVaScRiPt:alert(6)">click</a> <a href="https://shop.example/order/1042">order</a>
<a href="data:text/html,<script>alert(5)</script>">data link</a> <a href="mailto:hello@shop.example">mail</a>
<blockquote cite="javascript:alert(7)">quoted</blockquote>
<iframe src="http://evil.example">fallback</iframe><object data="http://evil.example/x.swf"><embed src="http://evil.example/e.swf"></object>
<form action="http://evil.example"><input name="password"><button formaction="http://evil.example">go</button></form>
<svg><image href="http://tracker.example/svg.png"/><script>alert(8)</script></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(9)></style></mglyph></table></mtext></math>
<video poster="http://tracker.example/poster.png"><source src="http://tracker.example/v.mp4"></video>
<!-- <img src="http://tracker.example/comment.gif"> --></body></html>"#;

    /// Nothing in the sanitised HTML can run or fetch: no script, handlers, frames, forms,
    /// stylesheets, CSS, `srcset`/`background`, and remote URLs only inside
    /// `data-remote-src` (which nothing loads).
    #[test]
    fn hostile_html_is_inert() {
        let clean = sanitize_html(HOSTILE);
        for bad in [
            "script",
            "alert(",
            "onload",
            "onerror",
            "javascript:",
            "<iframe",
            "<object",
            "<embed",
            "<form",
            "<input",
            "<button",
            "formaction",
            "<link",
            "<meta",
            "<base",
            "<style",
            "style=",
            "url(",
            "data:text",
            "<svg",
            "<math",
            "<video",
            "<source",
            "poster",
            "srcset",
            "background",
            "evil.example",
            "file:",
            "relative.png",
            "<!--",
            "Newsletter",
            "shopdesk-remote",
        ] {
            assert!(!clean.to_ascii_lowercase().contains(&bad.to_ascii_lowercase()), "{bad} survived in {clean}");
        }
        // Every mention of the tracker is a remote image kept for "show images".
        let tracker = clean.matches("tracker.example").count();
        let parked = clean.matches(" data-remote-src=\"").count();
        assert_eq!((tracker, parked), (3, 3), "{clean}");
        let outside_parked: String = clean
            .split(" data-remote-src=\"")
            .enumerate()
            .map(|(i, piece)| if i == 0 { piece } else { piece.split_once('"').map_or("", |(_, rest)| rest) })
            .collect();
        assert!(!outside_parked.contains("tracker"), "{outside_parked}");
        for src in clean.split(" src=\"").skip(1) {
            assert!(src.starts_with("cid:") || src.starts_with("data:image/"), "a fetchable src survived: {src}");
        }
        assert!(clean.contains(r#"data-remote-src="http://tracker.example/pixel.gif?u=1&amp;m=2""#), "{clean}");
        assert!(clean.contains(r#"data-remote-src="//tracker.example/proto-relative.gif""#), "{clean}");
        assert!(clean.contains(r#"data-remote-src="HTTPS://tracker.example/upper.gif""#), "{clean}");
    }

    /// Ordinary content survives: text, emphasis, tables, web and mailto links (opened
    /// outside, without referrer), embedded images, direction of RTL text.
    #[test]
    fn ordinary_html_survives() {
        let clean = sanitize_html(HOSTILE);
        assert!(clean.contains("Hello <b>Anna</b>"), "{clean}");
        assert!(clean.contains("<td>cell</td>"), "{clean}");
        assert!(clean.contains("quoted"), "{clean}");
        assert!(clean.contains(r#"src="cid:logo@shop""#), "{clean}");
        assert!(clean.contains(r#"src="data:image/png;base64,iVBORw0KGgo=""#), "{clean}");
        let link = clean.split("<a ").find(|a| a.contains("shop.example/order/1042")).expect("order link");
        for attr in [r#"href="https://shop.example/order/1042""#, r#"rel="noopener noreferrer""#, r#"target="_blank""#]
        {
            assert!(link.contains(attr), "{attr} missing in <a {link}");
        }
        assert!(clean.contains(r#"href="mailto:hello@shop.example""#), "{clean}");
        let rtl = sanitize_html(r#"<div dir="rtl">שלום <font color="red">עולם</font></div>"#);
        assert_eq!(rtl, r#"<div dir="rtl">שלום <font color="red">עולם</font></div>"#);
    }

    /// Text that merely looks like the internal marker or an attribute is left alone;
    /// only real `<img>` tags are rewritten.
    #[test]
    fn marker_lookalikes_in_text_are_untouched() {
        let html =
            r#"<p>write <code> src="shopdesk-remote:x"</code> here</p><img alt="a > b" src="http://t.example/i.png">"#;
        let clean = sanitize_html(html);
        assert!(clean.contains(r#"<code> src="shopdesk-remote:x"</code>"#), "{clean}");
        assert!(clean.contains(r#"data-remote-src="http://t.example/i.png""#), "{clean}");
        assert!(clean.contains(r#"alt="a &gt; b""#), "{clean}");
    }

    /// Deeply nested markup neither overflows the stack nor takes long: just under the
    /// tag limit it is parsed, beyond it the text is kept, escaped.
    #[test]
    fn deep_nesting_is_survived() {
        let depth = MAX_HTML_TAGS / 4;
        let html = format!("{}x{}", "<div><b>".repeat(depth), "</b></div>".repeat(depth));
        let started = std::time::Instant::now();
        let (clean, reduced) = sanitize(&html);
        assert!(!reduced && clean.contains("<div><b><div>") && clean.contains('x'));
        assert!(started.elapsed().as_secs() < 10, "{:?} at the limit", started.elapsed());

        let depth = 1_000_000;
        let html = format!("<p>a<script>x</script> & b</p>{}y{}", "<div><b>".repeat(depth), "</b></div>".repeat(depth));
        let started = std::time::Instant::now();
        let (clean, reduced) = sanitize(&html);
        assert!(reduced);
        assert!(clean.starts_with("<p>") && clean.contains("&amp; b") && clean.contains('y'), "{}", &clean[..80]);
        assert!(!clean.contains("<script") && !clean.contains("<div"), "{}", &clean[..80]);
        assert!(started.elapsed().as_secs() < 5, "{:?} beyond the limit", started.elapsed());
    }
}
