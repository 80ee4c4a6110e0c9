//! Replies going back where a consultation came from (issue 20): the route of a reply (a LINE
//! WORKS channel or user, a Chatwork room with the message it answers), the outbox entry and
//! its states, what one send attempt came to, and the text each provider gets.
//!
//! Pure: no I/O and no clock. The store keeps routes and entries (`store::outbox`), `Desk`
//! writes a reply and its entry in one transaction (`desk/replies.rs`), and the sender worker
//! in `renkei-intake` (`outbound/`) sends them.

use crate::codes::Channel;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a reply goes. Kept per inbound chat message (`reply_routes`), copied into each outbox
/// entry at the time the reply is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyRoute {
    /// A LINE WORKS talk room: `POST /bots/{botId}/channels/{channelId}/messages`.
    LineworksChannel { channel_id: String },
    /// A 1:1 talk with the bot: `POST /bots/{botId}/users/{userId}/messages`.
    LineworksUser { user_id: String },
    /// A Chatwork room: `POST /rooms/{room_id}/messages`; `reply_to` = the partner's message
    /// it answers, quoted with `[rp]` when known.
    ChatworkRoom {
        room_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<ChatworkMessageRef>,
    },
    /// A partner-API partner's registered callback URL (signed POST, see renkei-intake's
    /// `outbound/callback.rs`).
    PartnerCallback { partner_id: i64, url: String },
}

/// A partner's Chatwork message: who wrote it and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatworkMessageRef {
    pub account_id: String,
    pub message_id: String,
}

impl ReplyRoute {
    /// The channel this route belongs to.
    pub fn channel(&self) -> Channel {
        match self {
            ReplyRoute::LineworksChannel { .. } | ReplyRoute::LineworksUser { .. } => {
                Channel::Lineworks
            }
            ReplyRoute::ChatworkRoom { .. } => Channel::Chatwork,
            ReplyRoute::PartnerCallback { .. } => Channel::PartnerApi,
        }
    }

    /// A short, safe description: "LINE WORKS channel C1", "Chatwork room 123".
    pub fn describe(&self) -> String {
        match self {
            ReplyRoute::LineworksChannel { channel_id } => {
                format!("LINE WORKS channel {channel_id}")
            }
            ReplyRoute::LineworksUser { user_id } => format!("LINE WORKS user {user_id}"),
            ReplyRoute::ChatworkRoom { room_id, .. } => format!("Chatwork room {room_id}"),
            ReplyRoute::PartnerCallback { url, .. } => {
                // scheme://host only: a path may carry the partner's own tokens.
                let host_end = url.match_indices('/').nth(2).map_or(url.len(), |(i, _)| i);
                format!("partner callback {}", &url[..host_end])
            }
        }
    }

    /// The text the provider gets for a reply `body`. Chatwork: with `[rp aid=… to=ROOM-MSG]`
    /// in front when the partner's message is known, so the partner sees which message was
    /// answered (Chatwork shows it as a reply with a link to the original).
    pub fn outgoing_text(&self, body: &str) -> String {
        match self {
            ReplyRoute::ChatworkRoom {
                room_id,
                reply_to: Some(m),
            } => format!(
                "[rp aid={} to={}-{}]\n{}",
                m.account_id, room_id, m.message_id, body
            ),
            _ => body.to_string(),
        }
    }

    /// A route for a consultation taken in before routes were kept (store version < 5): the
    /// thread key is the Chatwork room, or the LINE WORKS channelId — or the userId of a 1:1
    /// talk, recognisable because the sender name of such a talk is the same userId.
    pub fn from_thread(channel: Channel, thread_key: &str, sender_name: &str) -> Option<Self> {
        let key = thread_key.trim();
        if key.is_empty() {
            return None;
        }
        match channel {
            Channel::Chatwork => Some(ReplyRoute::ChatworkRoom {
                room_id: key.to_string(),
                reply_to: None,
            }),
            Channel::Lineworks if sender_name.trim() == key => Some(ReplyRoute::LineworksUser {
                user_id: key.to_string(),
            }),
            Channel::Lineworks => Some(ReplyRoute::LineworksChannel {
                channel_id: key.to_string(),
            }),
            _ => None,
        }
    }
}

/// How a reply reaches the partner, by the channel the consultation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Through the outbox: LINE WORKS, Chatwork.
    Outbox,
    /// Shown on the partner's status page `GET /v1/consultations/{id}` (partner API).
    PartnerView,
    /// Nothing can be sent back (phone, FAX, e-mail, MCS, manual): kept for the record only.
    RecordOnly,
}

impl Delivery {
    /// The way back from a consultation of `channel`.
    pub fn for_channel(channel: Channel) -> Delivery {
        match channel {
            Channel::Lineworks | Channel::Chatwork => Delivery::Outbox,
            Channel::PartnerApi => Delivery::PartnerView,
            _ => Delivery::RecordOnly,
        }
    }
}

/// The state of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (first time, or to retry after `next_attempt_at`).
    Pending,
    /// Claimed by a sender; the provider's answer is not recorded yet.
    Sending,
    /// The provider accepted it.
    Sent,
    /// The provider refused it (a 4xx other than 429); staff may send it again (再送).
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutboxStatus::Pending,
            "sending" => OutboxStatus::Sending,
            "sent" => OutboxStatus::Sent,
            "failed" => OutboxStatus::Failed,
            _ => return None,
        })
    }
}

/// What an outbox entry sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// A reply staff wrote.
    #[default]
    Reply,
    /// The automatic receipt when someone takes the item (自動返信・受付, `receipt.rs`).
    Receipt,
    /// The on-call doctor's message about an urgent item nobody took (LINE WORKS user).
    Oncall,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Reply => "reply",
            OutboxKind::Receipt => "receipt",
            OutboxKind::Oncall => "oncall",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "reply" => OutboxKind::Reply,
            "receipt" => OutboxKind::Receipt,
            "oncall" => OutboxKind::Oncall,
            _ => return None,
        })
    }
}

/// One outbox entry as `renkei outbox` and the thread show it (no message text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub consultation_id: i64,
    /// The reply in the thread this entry sends (the on-call message: the thread's note
    /// saying the doctor was told).
    pub message_id: i64,
    /// A reply, the automatic receipt, or the on-call message.
    #[serde(default)]
    pub kind: OutboxKind,
    pub channel: Channel,
    /// "Chatwork room 123", "LINE WORKS channel C1".
    pub destination: String,
    pub status: OutboxStatus,
    /// Send attempts so far (requests that may have reached the provider).
    pub attempts: u32,
    /// The last problem, in the provider's words where it gave some.
    pub last_error: Option<String>,
    /// The provider's id of the sent message (Chatwork `message_id`).
    pub remote_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Not before this time (backoff, rate limit).
    pub next_attempt_at: DateTime<Utc>,
    /// An earlier attempt may have reached the provider without its answer being recorded (a
    /// crash or a timeout): the partner may see this reply twice.
    pub maybe_duplicate: bool,
    pub created_at: DateTime<Utc>,
}

/// What a sender needs for one claimed entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SendJob {
    pub id: i64,
    pub consultation_id: i64,
    pub route: ReplyRoute,
    /// The text to send (markup included).
    pub text: String,
    /// This attempt's number (1 = first); the result is recorded only for it.
    pub attempt: u32,
    /// The partner's callback secret (partner callbacks only).
    pub secret: Option<String>,
}

/// A due entry, before it is claimed (the worker checks its rate limits first).
#[derive(Debug, Clone, PartialEq)]
pub struct DueEntry {
    pub id: i64,
    pub route: ReplyRoute,
}

/// What one send attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Accepted by the provider.
    Sent { remote_id: Option<String> },
    /// Try again after `after` (timeout, 5xx, 429, network). `unknown` = the request may have
    /// reached the provider (a timeout after sending): the entry is marked `maybe_duplicate`.
    Retry {
        error: String,
        after: Duration,
        unknown: bool,
    },
    /// Refused for good (4xx other than 429): `error` is the provider's message.
    Failed { error: String },
}

/// Wait before attempt `attempts + 1`: `base` doubled per attempt, at most `max`, and never
/// shorter than what the provider asked for.
pub fn backoff(attempts: u32, base: Duration, max: Duration, asked: Option<Duration>) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(16)));
    let wait = exp.min(max);
    match asked {
        Some(a) => wait.max(a.min(Duration::from_secs(3600))),
        None => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatwork_reply_quotes_the_partners_message_when_known() {
        let r = ReplyRoute::ChatworkRoom {
            room_id: "111".into(),
            reply_to: Some(ChatworkMessageRef {
                account_id: "42".into(),
                message_id: "999".into(),
            }),
        };
        assert_eq!(
            r.outgoing_text("承知しました"),
            "[rp aid=42 to=111-999]\n承知しました"
        );
        let plain = ReplyRoute::ChatworkRoom {
            room_id: "111".into(),
            reply_to: None,
        };
        assert_eq!(plain.outgoing_text("承知しました"), "承知しました");
    }

    #[test]
    fn old_lineworks_threads_tell_users_from_channels() {
        assert_eq!(
            ReplyRoute::from_thread(Channel::Lineworks, "u1", "u1"),
            Some(ReplyRoute::LineworksUser {
                user_id: "u1".into()
            })
        );
        assert_eq!(
            ReplyRoute::from_thread(Channel::Lineworks, "c1", "u1"),
            Some(ReplyRoute::LineworksChannel {
                channel_id: "c1".into()
            })
        );
        assert_eq!(ReplyRoute::from_thread(Channel::Phone, "x", ""), None);
    }

    #[test]
    fn backoff_doubles_and_honours_the_provider() {
        let (b, m) = (Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(backoff(1, b, m, None), Duration::from_secs(2));
        assert_eq!(backoff(3, b, m, None), Duration::from_secs(8));
        assert_eq!(backoff(30, b, m, None), Duration::from_secs(60));
        assert_eq!(
            backoff(1, b, m, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_callback_is_described_by_its_host_only() {
        let r = ReplyRoute::PartnerCallback {
            partner_id: 1,
            url: "https://partner.example.jp/hooks/renkei?token=abc".into(),
        };
        assert_eq!(r.describe(), "partner callback https://partner.example.jp");
        assert_eq!(r.channel(), Channel::PartnerApi);
    }

    #[test]
    fn routes_round_trip_as_json() {
        let r = ReplyRoute::LineworksChannel {
            channel_id: "c".into(),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"kind":"lineworks_channel","channel_id":"c"}"#);
        assert_eq!(serde_json::from_str::<ReplyRoute>(&s).unwrap(), r);
    }
}
