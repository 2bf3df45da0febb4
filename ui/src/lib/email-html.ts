// Turns an email's HTML into a self-contained srcdoc for a sandboxed iframe (sandbox="",
// so no scripts and no same-origin). The CSP meta comes first so it covers everything that
// follows; remote images stay blocked until the user asks for them (they are trackers).

export const CSP_BLOCKED = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'";
export const CSP_IMAGES = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; font-src 'none'";

/** Elements that never belong in a shown email: active content, navigation (meta refresh), another base, prefetching links. */
const DROP = 'script, meta, base, link, iframe, frame, frameset, object, embed, applet, portal';

const BASE_STYLE =
  'html{color-scheme:light}body{margin:8px;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans",sans-serif;' +
  'font-size:14px;line-height:1.45;color:#1f2430;background:#fff;overflow-wrap:anywhere}img{max-inline-size:100%;block-size:auto}';

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Attributes that load an image or media by themselves. */
const LOADING_ATTRS = new Set(['src', 'srcset', 'background', 'poster', 'href', 'xlink:href', 'data', 'lowsrc', 'dynsrc']);
/** Elements whose `href` loads something (an `<a href>` only navigates on a click). */
const HREF_LOADS = new Set(['image', 'use', 'feimage']);

const isData = (value: string) => /^\s*data:/i.test(value);
/** CSS url(...) other than data:, and @import (external styles are never allowed). */
function blockCssUrls(css: string): string {
  return css.replace(/@import[^;]*;?/gi, '').replace(/url\(\s*(?!['"]?\s*data:)[^)]*\)/gi, 'none');
}

/**
 * The email's head styles, its body and the body's attributes, with active content removed
 * (defence in depth: the sandbox already blocks scripts). With images blocked, remote URLs
 * are taken out too, so nothing is fetched even by a preload scanner that runs ahead of the
 * CSP meta.
 */
function clean(html: string, showImages: boolean): { head: string; body: string; bodyAttrs: string } {
  // A DOMParser document has no browsing context: parsing it here loads nothing.
  const doc = new DOMParser().parseFromString(html, 'text/html');
  doc.querySelectorAll(DROP).forEach((el) => el.remove());
  for (const el of Array.from(doc.querySelectorAll('*'))) {
    const tag = el.localName.toLowerCase();
    // The importer parks a remote image's address in data-remote-src (crates/ingest
    // mail/html.rs) so nothing loads it; "Show images" puts it back.
    const parked = el.getAttribute('data-remote-src');
    if (parked !== null) {
      if (showImages && tag === 'img' && /^\s*https?:/i.test(parked)) el.setAttribute('src', parked);
      el.removeAttribute('data-remote-src');
    }
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const scriptUrl = /^\s*(javascript|vbscript):/i.test(attr.value);
      const loads = LOADING_ATTRS.has(name) && (!name.endsWith('href') || HREF_LOADS.has(tag));
      if (name.startsWith('on') || scriptUrl || (!showImages && loads && !isData(attr.value))) {
        el.removeAttribute(attr.name);
      } else if (name === 'style') {
        el.setAttribute('style', showImages ? attr.value.replace(/@import[^;]*;?/gi, '') : blockCssUrls(attr.value));
      }
    }
    if (tag === 'style' && el.textContent) {
      el.textContent = showImages ? el.textContent.replace(/@import[^;]*;?/gi, '') : blockCssUrls(el.textContent);
    }
  }
  // Without a direction of its own, a Hebrew or Arabic email reads right to left.
  if (!doc.body.hasAttribute('dir')) doc.body.setAttribute('dir', 'auto');
  const bodyAttrs = Array.from(doc.body.attributes)
    .map((a) => ` ${a.name}="${escapeAttr(a.value)}"`)
    .join('');
  return { head: doc.head.innerHTML, body: doc.body.innerHTML, bodyAttrs };
}

/** The srcdoc for one email: CSP first, links open outside, then the cleaned message. */
export function emailSrcdoc(html: string, showImages: boolean): string {
  const csp = showImages ? CSP_IMAGES : CSP_BLOCKED;
  const { head, body, bodyAttrs } = clean(html, showImages);
  return (
    `<meta http-equiv="Content-Security-Policy" content="${csp}"><base target="_blank">` +
    `<meta name="referrer" content="no-referrer"><style>${BASE_STYLE}</style>${head}` +
    `<body${bodyAttrs}>${body}</body>`
  );
}

/** Whether the HTML may load images at all (so "Show images" is worth offering). */
export function mayHaveImages(html: string): boolean {
  return /<img\b|url\s*\(|background\s*=|<image\b|srcset\s*=|data-remote-src/i.test(html);
}
