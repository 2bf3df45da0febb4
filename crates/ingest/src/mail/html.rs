//! HTML mail made safe to show: no script, no active content, and nothing fetched from
//! the network. Remote images keep their address behind [`BLOCKED_SCHEME`] so the UI can
//! load them when the user asks ("show images"), and never before.

use std::collections::HashSet;

/// Prefix put in front of a remote image URL: an unregistered scheme, so the webview
/// cannot fetch it; the UI strips it to show images on request.
pub const BLOCKED_SCHEME: &str = "shopdesk-blocked:";

/// Sanitises an HTML body (ammonia's allow-list, plus the rules above). Inline `style`
/// attributes and `<style>` elements are dropped: CSS `url()` would fetch remote content.
pub fn sanitize_html(html: &str) -> String {
    let schemes: HashSet<&str> = ["http", "https", "mailto", "cid", "data"].into_iter().collect();
    ammonia::Builder::default()
        .url_schemes(schemes)
        .link_rel(Some("noopener noreferrer"))
        .add_tag_attributes("a", &["target"])
        .add_tag_attributes("img", &["width", "height"])
        .add_tag_attributes("td", &["align", "valign", "colspan", "rowspan"])
        .add_tag_attributes("th", &["align", "valign", "colspan", "rowspan"])
        .add_tag_attributes("p", &["dir"])
        .add_tag_attributes("div", &["dir"])
        .add_tag_attributes("span", &["dir"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") => Some(image_src(value).into()),
            ("a", "href") => {
                let lower = value.trim_start().to_ascii_lowercase();
                (lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("mailto:"))
                    .then(|| value.into())
            }
            ("a", "target") => Some("_blank".into()),
            _ => Some(value.into()),
        })
        .clean(html)
        .to_string()
}

/// Embedded images (`cid:`, `data:image/…`) stay; anything else is blocked.
fn image_src(value: &str) -> String {
    let lower = value.trim_start().to_ascii_lowercase();
    if lower.starts_with("cid:") || lower.starts_with("data:image/") {
        value.to_owned()
    } else {
        format!("{BLOCKED_SCHEME}{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<html><head><style>body{background:url(http://tracker.example/css.png)}</style>
<link rel="stylesheet" href="http://tracker.example/s.css"><meta http-equiv="refresh" content="0;url=http://evil.example">
<script>alert(1)</script></head><body onload="alert(2)">
<p style="background-image:url('http://tracker.example/bg.png')">Hello <b>Anna</b></p>
<img src="http://tracker.example/pixel.gif" width="1" height="1" onerror="alert(3)">
<img src="cid:logo@shop"><img src="data:image/png;base64,iVBORw0KGgo=">
<a href="javascript:alert(4)">click</a> <a href="https://shop.example/order/1042">order</a>
<a href="data:text/html,<script>alert(5)</script>">data link</a>
<iframe src="http://evil.example"></iframe><object data="http://evil.example/x.swf"></object>
<form action="http://evil.example"><input name="password"></form>
<svg><image href="http://tracker.example/svg.png"/></svg></body></html>"#;

    /// Nothing in the sanitised HTML can run or fetch: no script, handlers, frames, forms,
    /// stylesheets, CSS or remote URLs outside the blocked scheme.
    #[test]
    fn hostile_html_is_inert() {
        let clean = sanitize_html(HOSTILE);
        for bad in ["<script", "alert(", "onload", "onerror", "javascript:", "<iframe", "<object", "<form", "<input", "<link", "<meta", "<style", "style=", "url(", "data:text", "<svg", "evil.example"] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        // The only mention of the tracker is the blocked image, kept for "show images".
        let tracker_mentions = clean.matches("tracker.example").count();
        assert_eq!(tracker_mentions, 1, "{clean}");
        assert!(clean.contains(r#"src="shopdesk-blocked:http://tracker.example/pixel.gif""#), "{clean}");
    }

    /// Ordinary content survives: text, emphasis, links to the web, embedded images.
    #[test]
    fn ordinary_html_survives() {
        let clean = sanitize_html(HOSTILE);
        assert!(clean.contains("Hello <b>Anna</b>"), "{clean}");
        assert!(clean.contains(r#"href="https://shop.example/order/1042""#), "{clean}");
        assert!(clean.contains("noopener"), "{clean}");
        assert!(clean.contains(r#"src="cid:logo@shop""#), "{clean}");
        assert!(clean.contains(r#"src="data:image/png;base64,iVBORw0KGgo=""#), "{clean}");
    }
}
