//! The body previews HubSpot derives from `hs_call_body`.
//!
//! HubSpot keeps the body as written (it may hold HTML) and computes a plain-text preview for
//! timelines and full-text search, an HTML document form, and whether the preview was cut.

/// Longest preview kept, in characters. HubSpot does not document its own cut-off.
pub const PREVIEW_MAX_CHARS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPreview {
    pub text: String,
    pub html: String,
    pub truncated: bool,
}

impl BodyPreview {
    pub fn of(body: &str) -> Self {
        // Most bodies are plain text: no tag to strip, no entity to decode (every entity
        // starts with `&`), so those passes are skipped rather than run as no-ops.
        let plain = match (body.contains('<'), body.contains('&')) {
            (false, false) => collapse_whitespace(body),
            (true, false) => collapse_whitespace(&strip_tags(body)),
            (_, true) => collapse_whitespace(&decode_entities(&strip_tags(body))),
        };
        let truncated = plain.chars().count() > PREVIEW_MAX_CHARS;
        let text = if truncated {
            plain.chars().take(PREVIEW_MAX_CHARS).collect()
        } else {
            plain
        };
        let inner = if body.contains('<') {
            body.trim().to_owned()
        } else {
            escape_html(body.trim())
        };
        // The document shape HubSpot's HTML cleaner prints for a plain-text body.
        let html = format!("<html>\n <head></head>\n <body>\n {inner}\n </body>\n</html>");
        Self {
            text,
            html,
            truncated,
        }
    }
}

/// Drops HTML tags, turning block-level boundaries into spaces so words do not merge.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape_html(text: &str) -> String {
    if !text.contains(['&', '<', '>']) {
        return text.to_owned();
    }
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_body() {
        let preview = BodyPreview::of("Test call");
        assert_eq!(preview.text, "Test call");
        assert!(!preview.truncated);
        assert!(preview.html.contains("<body>\n Test call\n </body>"));
    }

    #[test]
    fn html_body_is_stripped() {
        let preview = BodyPreview::of("<p>Hello&nbsp;<b>world</b></p><p>again &amp; again</p>");
        assert_eq!(preview.text, "Hello world again & again");
    }

    #[test]
    fn long_body_is_cut() {
        let preview = BodyPreview::of(&"word ".repeat(1_000));
        assert!(preview.truncated);
        assert_eq!(preview.text.chars().count(), PREVIEW_MAX_CHARS);
    }
}
