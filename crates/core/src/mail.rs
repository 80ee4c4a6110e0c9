//! E-mail intake: one `.eml` message (RFC 5322, MIME) → what the desk takes in
//! ([`ParsedMail`]): subject, plain-text body (HTML-only mail turned into text), sender, date,
//! `Message-ID`, attachments, and whether it is an MCS notice ([`McsNotice`]).
//!
//! Parsing is `mail-parser` 0.11 (charsets incl. ISO-2022-JP and Shift_JIS, RFC 2047 words,
//! base64/quoted-printable); this module only decides what of it the desk keeps. The same
//! function serves `renkei import FILE.eml` and the IMAP worker. Nothing here logs message text,
//! names or addresses.
//!
//! MCS (a closed medical SNS with no API) e-mails a notice when something is posted. A mail is an
//! MCS notice only when its `From` *address* is one of the configured MCS senders (an address, or a
//! domain and its subdomains) — a display name saying "MCS" proves nothing. The notice becomes
//! an `mcs` consultation naming the group and carrying the link back to MCS (only a link on an
//! MCS sender domain, `https`); MCS itself is never read.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// The largest mail taken in (the whole raw message).
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// A longer `Message-ID` is kept as its sha256 (the intake key has room for 200 bytes).
const MAX_MESSAGE_ID_BYTES: usize = 180;

/// Default MCS notice sender: the MCS domain (and its subdomains).
pub const DEFAULT_MCS_SENDERS: &[&str] = &["medical-care.net"];

/// How mail is read: which senders are MCS notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailOptions {
    /// Addresses (`notice@example.jp`) or domains (`example.jp`, `@example.jp`), lower case.
    pub mcs_senders: Vec<String>,
}

impl Default for MailOptions {
    fn default() -> Self {
        MailOptions {
            mcs_senders: DEFAULT_MCS_SENDERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl MailOptions {
    /// Options from a comma-separated list of MCS senders (`RENKEI_MCS_SENDERS`); an empty or
    /// missing list keeps the default.
    pub fn with_mcs_senders(list: Option<&str>) -> Self {
        let senders: Vec<String> = list
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if senders.is_empty() {
            MailOptions::default()
        } else {
            MailOptions {
                mcs_senders: senders,
            }
        }
    }

    /// Options from `RENKEI_MCS_SENDERS` (the app and `renkei` read the same variable).
    pub fn from_env() -> Self {
        Self::with_mcs_senders(std::env::var("RENKEI_MCS_SENDERS").ok().as_deref())
    }

    /// Whether `address` (lower case) is an MCS notice sender.
    pub fn is_mcs_sender(&self, address: &str) -> bool {
        let domain = domain_of(address);
        self.mcs_senders.iter().any(|s| {
            let s = s.trim_start_matches('@');
            if s.contains('@') {
                s == address
            } else {
                domain.is_some_and(|d| d == s || d.ends_with(&format!(".{s}")))
            }
        })
    }
}

/// An MCS notice: which group (patient thread) has news, and the link back to MCS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McsNotice {
    pub group: String,
    pub link: Option<String>,
}

/// One attachment as it came in (checked later by the document checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// What the desk keeps of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// `Message-ID` without angle brackets; without one, `sha256:<hex of the raw mail>`.
    pub message_id: String,
    /// The `From` address, lower case.
    pub from_address: Option<String>,
    /// The `From` display name.
    pub from_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub date: Option<DateTime<Utc>>,
    pub attachments: Vec<MailAttachment>,
    pub mcs: Option<McsNotice>,
    /// Not from an MCS sender, yet the display name, subject or address says MCS: kept as an
    /// ordinary mail, with a warning in its text (a forged or forwarded notice).
    pub mcs_lookalike: bool,
}

/// The domain of an address (after the last `@`).
pub fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// Parses one raw mail. Refuses mail over [`MAX_MAIL_BYTES`] and bytes that are not a message.
pub fn parse(raw: &[u8], opts: &MailOptions) -> Result<ParsedMail> {
    if raw.len() > MAX_MAIL_BYTES {
        return Err(Error::TooLarge(format!(
            "the mail is {:.1} MiB, over the 25 MiB limit; ask the sender to split it or send the documents another way",
            raw.len() as f64 / 1_048_576.0
        )));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| {
            Error::invalid("file", "not an e-mail message (.eml); nothing was stored")
        })?;
    let message_id = match msg.message_id().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => {
            let id: String = id
                .trim_start_matches('<')
                .trim_end_matches('>')
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            if id.len() > MAX_MESSAGE_ID_BYTES {
                format!("sha256:{}", crate::store::blobs::sha256_hex(id.as_bytes()))
            } else {
                id
            }
        }
        None => format!("sha256:{}", crate::store::blobs::sha256_hex(raw)),
    };
    let from = msg.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'));
    let from_name = from
        .and_then(|a| a.name())
        .map(crate::model::clean_line)
        .filter(|n| !n.is_empty());
    let subject = crate::model::clean_line(msg.subject().unwrap_or(""));
    let body = if let Some(t) = msg.text_bodies().find_map(|p| match &p.body {
        PartType::Text(t) => Some(t.to_string()),
        _ => None,
    }) {
        t
    } else {
        msg.html_bodies()
            .find_map(|p| match &p.body {
                PartType::Html(h) => Some(html_to_text(h)),
                PartType::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let body = normalise_text(&body.replace('\0', ""));
    let date = msg
        .date()
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().enumerate() {
        let bytes = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        let content_type = part.content_type().map(|c| match c.subtype() {
            Some(s) => format!("{}/{}", c.ctype(), s).to_ascii_lowercase(),
            None => c.ctype().to_ascii_lowercase(),
        });
        let name = part
            .attachment_name()
            .map(crate::desk::safe_file_name)
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        attachments.push(MailAttachment {
            name,
            content_type,
            bytes,
        });
    }
    let mcs = match &from_address {
        Some(a) if opts.is_mcs_sender(a) => Some(mcs_notice(&subject, &body, opts)),
        _ => None,
    };
    let mcs_lookalike = mcs.is_none()
        && [
            from_name.as_deref().unwrap_or(""),
            subject.as_str(),
            from_address.as_deref().unwrap_or(""),
        ]
        .iter()
        .any(|t| looks_like_mcs(t));
    Ok(ParsedMail {
        message_id,
        from_address,
        from_name,
        subject,
        body,
        date,
        attachments,
        mcs,
        mcs_lookalike,
    })
}

/// Whether a name, subject or address claims to be MCS (`MCS` as a word, the service's name,
/// or its domain inside another one).
fn looks_like_mcs(text: &str) -> bool {
    let upper = text.to_uppercase();
    let word = upper.match_indices("MCS").any(|(i, _)| {
        let before = upper[..i].chars().next_back();
        let after = upper[i + 3..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    });
    word || text.contains("メディカルケアステーション") || upper.contains("MEDICAL-CARE.NET")
}

/// The group of an MCS notice (「〇〇さんのグループに新しい投稿があります」 → 「〇〇さん」;
/// otherwise the subject) and its first `https` link on an MCS sender domain.
fn mcs_notice(subject: &str, body: &str, opts: &MailOptions) -> McsNotice {
    let group = [subject, body]
        .iter()
        .find_map(|t| group_in(t))
        .unwrap_or_else(|| {
            let s = subject.trim();
            if s.is_empty() {
                "MCS".to_string()
            } else {
                s.chars().take(80).collect()
            }
        });
    let link = body
        .split(|c: char| c.is_whitespace() || "<>「」()（）\"'".contains(c))
        .filter_map(|w| w.strip_prefix("https://").map(|rest| (w, rest)))
        .find(|(_, rest)| {
            let host = rest
                .split(['/', '?', '#'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            !host.contains('@') && !host.contains(':') && opts.is_mcs_sender(&format!("x@{host}"))
        })
        .map(|(w, _)| w.chars().take(500).collect());
    McsNotice { group, link }
}

fn group_in(text: &str) -> Option<String> {
    const MARK: &str = "のグループ";
    let line = text.lines().find(|l| l.contains(MARK))?;
    let end = line.find(MARK)?;
    let before = &line[..end];
    let start = before
        .rfind(['」', '】', '「', '【', ':', '：', ' ', '　', '。'])
        .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
        .unwrap_or(0);
    let g = before[start..].trim();
    (!g.is_empty()).then(|| g.chars().take(80).collect())
}

/// Line endings unified, trailing spaces and runs of blank lines trimmed.
fn normalise_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

/// HTML → plain text for HTML-only mail: drops `<script>`, `<style>`, `<head>` and comments with
/// their content, turns `<br>`, `</p>`, `</div>`, `</li>`, `</tr>`, headings into line breaks,
/// drops every other tag and decodes entities. The result is text only: nothing of the markup
/// (links, scripts) survives to be rendered.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            if lower[i..].starts_with("<!--") {
                i = lower[i..].find("-->").map_or(bytes.len(), |e| i + e + 3);
                continue;
            }
            let end = match lower[i..].find('>') {
                Some(e) => i + e + 1,
                None => break,
            };
            let tag = &lower[i + 1..end - 1];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !closing && matches!(name.as_str(), "script" | "style" | "head" | "title") {
                let close = format!("</{name}");
                i = lower[end..].find(&close).map_or(bytes.len(), |e| {
                    let at = end + e;
                    lower[at..].find('>').map_or(bytes.len(), |g| at + g + 1)
                });
                continue;
            }
            match name.as_str() {
                "br" => out.push('\n'),
                "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                | "blockquote" | "table" | "ul" | "ol"
                    if closing =>
                {
                    out.push('\n')
                }
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" => out.push('\n'),
                "li" => out.push_str("\n・"),
                "td" | "th" if !closing => out.push(' '),
                _ => {}
            }
            i = end;
        } else if bytes[i] == b'&' {
            let rest = &html[i..];
            // Bytes, not a str slice: 12 bytes may end inside a multi-byte character.
            let semi = rest.as_bytes()[..rest.len().min(12)]
                .iter()
                .position(|&b| b == b';');
            match semi.and_then(|s| entity(&rest[1..s]).map(|c| (s, c))) {
                Some((s, c)) => {
                    out.push(c);
                    i += s + 1;
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            }
        } else {
            let next = html[i..].find(['<', '&']).map_or(bytes.len(), |n| i + n);
            // Source line breaks inside HTML are spaces; breaks come from the tags.
            for c in html[i..next].chars() {
                out.push(if c == '\n' || c == '\r' || c == '\t' {
                    ' '
                } else {
                    c
                });
            }
            i = next;
        }
    }
    // Collapse runs of spaces on each line.
    out.lines()
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n).filter(|c| !c.is_control() || *c == '\n');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "yen" => '¥',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "middot" => '·',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_drops_scripts_and_keeps_breaks() {
        let t = html_to_text(
            "<html><head><title>x</title><style>p{}</style></head><body><p>訪問の件&amp;ご相談</p>\
             <script>alert(1)</script><!-- hidden -->一行目<br>二行目 &lt;至急&gt; &#x3042;</body></html>",
        );
        assert!(t.contains("訪問の件&ご相談"), "{t}");
        assert!(t.contains("一行目\n二行目 <至急> あ"), "{t}");
        assert!(
            !t.contains("alert") && !t.contains("hidden") && !t.contains("p{}"),
            "{t}"
        );
    }

    #[test]
    fn html_to_text_never_panics_on_multibyte_text_after_an_ampersand() {
        assert_eq!(html_to_text("A&日本語の文章です;"), "A&日本語の文章です;");
        assert_eq!(html_to_text("&#xZZ; &#99999999; &"), "&#xZZ; &#99999999; &");
        assert_eq!(html_to_text("<p"), "");
    }

    #[test]
    fn mcs_sender_is_the_address_not_the_name() {
        let o = MailOptions::default();
        assert!(o.is_mcs_sender("notice@medical-care.net"));
        assert!(o.is_mcs_sender("info@mail.medical-care.net"));
        assert!(!o.is_mcs_sender("mcs@medical-care.net.example.com"));
        assert!(!o.is_mcs_sender("medical-care.net@evil.example"));
        let o = MailOptions::with_mcs_senders(Some(" @notice.example.jp , bot@x.example "));
        assert!(o.is_mcs_sender("a@notice.example.jp"));
        assert!(o.is_mcs_sender("bot@x.example"));
        assert!(!o.is_mcs_sender("other@x.example"));
    }

    #[test]
    fn group_from_a_notice_line() {
        assert_eq!(
            group_in("【MCS】テスト花子さんのグループに新しい投稿があります").as_deref(),
            Some("テスト花子さん")
        );
        assert_eq!(group_in("お知らせ"), None);
    }

    fn fixture(raw: &[u8]) -> ParsedMail {
        parse(raw, &MailOptions::default()).unwrap()
    }

    #[test]
    fn japanese_charsets_of_the_fixtures() {
        let m = fixture(include_bytes!("../../../tests/mail/iso2022jp.eml"));
        assert_eq!(m.subject, "退院前カンファレンスの日程について");
        assert_eq!(m.from_name.as_deref(), Some("南ケアプラン 佐々木"));
        assert!(
            m.body.contains("カンファレンスは１２月３日１４時"),
            "{}",
            m.body
        );
        assert_eq!(m.message_id, "jis-0002@minami-care.example.jp");
        let m = fixture(include_bytes!("../../../tests/mail/sjis.eml"));
        assert_eq!(m.subject, "お薬の配達時間の変更");
        assert_eq!(m.from_name.as_deref(), Some("東薬局 山本"));
        assert!(m.body.contains("明日の配達は午後になります"), "{}", m.body);
        let m = fixture(include_bytes!("../../../tests/mail/utf8.eml"));
        assert_eq!(m.subject, "訪問診療のご相談（試験太郎様）");
        assert_eq!(
            m.from_address.as_deref(),
            Some("kimura@kita-houkan.example.jp")
        );
        assert!(m.mcs.is_none());
    }

    #[test]
    fn mcs_notice_and_forged_sender() {
        let m = fixture(include_bytes!("../../../tests/mail/mcs_notice.eml"));
        let n = m.mcs.unwrap();
        assert_eq!(n.group, "試験次郎さん");
        assert_eq!(
            n.link.as_deref(),
            Some("https://www.medical-care.net/html/timeline/group/10001")
        );
        let m = fixture(include_bytes!("../../../tests/mail/mcs_forged.eml"));
        assert!(m.mcs.is_none());
        assert!(m.mcs_lookalike);
        assert!(!fixture(include_bytes!("../../../tests/mail/utf8.eml")).mcs_lookalike);
        assert!(looks_like_mcs("【MCS】お知らせ") && looks_like_mcs("mcs@x.example"));
        assert!(!looks_like_mcs("MCSX 社") && !looks_like_mcs("ABCMCS"));
    }

    #[test]
    fn mail_without_message_id_is_keyed_by_its_bytes() {
        let raw = b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n";
        let m = fixture(raw);
        assert!(m.message_id.starts_with("sha256:"));
        assert_eq!(m.message_id, fixture(raw).message_id);
    }

    proptest::proptest! {
        #[test]
        fn html_to_text_and_parse_never_panic(s in "\\PC{0,200}", b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = html_to_text(&s);
            let _ = html_to_text(&format!("<p>{s}&{s};<br>"));
            let _ = parse(&b, &MailOptions::default());
            let mut raw = b"From: x@y.example\r\nContent-Type: text/html\r\n\r\n".to_vec();
            raw.extend_from_slice(&b);
            let _ = parse(&raw, &MailOptions::default());
        }
    }

    #[test]
    fn too_large_mail_is_refused() {
        let raw = vec![b'a'; MAX_MAIL_BYTES + 1];
        assert!(matches!(
            parse(&raw, &MailOptions::default()),
            Err(Error::TooLarge(_))
        ));
    }
}
