//! Topic and payload parsing per PROTOCOL.md, quirks included. Pure functions:
//! everything from the network is untrusted and every failure has a reason.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::readings::{Crying, Direction, Reading};

/// The longest cradle id accepted from a topic.
pub const MAX_UUID_LEN: usize = 128;
/// Plausible range for a thermometer by a baby's bed, in °C.
pub const TEMPERATURE_RANGE: std::ops::RangeInclusive<f64> = -20.0..=70.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frame,
    Direction,
    Crying,
    Temperature,
}

#[derive(Debug, PartialEq)]
pub enum Message {
    Reading(Reading),
    /// A JPEG exactly as the cradle encoded it.
    Frame(Bytes),
}

/// Why a message was dropped; each has a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    BadTopic,
    UnknownCradle,
    InvalidJson,
    MissingField,
    BadTemperature,
    InvalidBase64,
    NotJpeg,
    Oversized,
    StoreUnavailable,
}

impl DropReason {
    pub const ALL: [DropReason; 9] = [
        DropReason::BadTopic,
        DropReason::UnknownCradle,
        DropReason::InvalidJson,
        DropReason::MissingField,
        DropReason::BadTemperature,
        DropReason::InvalidBase64,
        DropReason::NotJpeg,
        DropReason::Oversized,
        DropReason::StoreUnavailable,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::BadTopic => "bad_topic",
            DropReason::UnknownCradle => "unknown_cradle",
            DropReason::InvalidJson => "invalid_json",
            DropReason::MissingField => "missing_field",
            DropReason::BadTemperature => "bad_temperature",
            DropReason::InvalidBase64 => "invalid_base64",
            DropReason::NotJpeg => "not_jpeg",
            DropReason::Oversized => "oversized",
            DropReason::StoreUnavailable => "store_unavailable",
        }
    }
}

/// `cradle/<uuid>/<kind>` with exactly three levels.
pub fn parse_topic(topic: &str) -> Result<(&str, Kind), DropReason> {
    let mut levels = topic.split('/');
    let (Some("cradle"), Some(uuid), Some(kind), None) =
        (levels.next(), levels.next(), levels.next(), levels.next())
    else {
        return Err(DropReason::BadTopic);
    };
    if uuid.is_empty() || uuid.len() > MAX_UUID_LEN {
        return Err(DropReason::BadTopic);
    }
    let kind = match kind {
        "frame" => Kind::Frame,
        "direction" => Kind::Direction,
        "crying" => Kind::Crying,
        "temperature" => Kind::Temperature,
        _ => return Err(DropReason::BadTopic),
    };
    Ok((uuid, kind))
}

pub fn parse_payload(kind: Kind, payload: &[u8]) -> Result<Message, DropReason> {
    match kind {
        Kind::Frame => parse_frame(payload).map(Message::Frame),
        Kind::Temperature => {
            parse_temperature(payload).map(|t| Message::Reading(Reading::Temperature(t)))
        }
        Kind::Crying => parse_crying(payload).map(Message::Reading),
        Kind::Direction => {
            parse_direction(payload).map(|d| Message::Reading(Reading::Direction(d)))
        }
    }
}

#[derive(Deserialize)]
struct FramePayload<'a> {
    #[serde(borrow)]
    frame: Option<std::borrow::Cow<'a, str>>,
}

pub fn parse_frame(payload: &[u8]) -> Result<Bytes, DropReason> {
    // A derived struct also reads a JSON array (`["<base64>"]`) by position;
    // the protocol's payloads are objects, as for the other kinds.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DropReason::InvalidJson);
    }
    let parsed: FramePayload<'_> =
        serde_json::from_slice(payload).map_err(|_| DropReason::InvalidJson)?;
    let b64 = parsed.frame.ok_or(DropReason::MissingField)?;
    let b64 = b64.trim();
    let jpeg = STANDARD
        .decode(b64)
        .or_else(|_| STANDARD_NO_PAD.decode(b64))
        .map_err(|_| DropReason::InvalidBase64)?;
    if !looks_like_jpeg(&jpeg) {
        return Err(DropReason::NotJpeg);
    }
    Ok(Bytes::from(jpeg))
}

/// SOI marker followed by a marker byte, and an EOI marker near the end
/// (some encoders pad after it). Enough to keep non-JPEG bytes from viewers
/// without decoding the picture.
pub fn looks_like_jpeg(b: &[u8]) -> bool {
    b.len() >= 4
        && b[0] == 0xFF
        && b[1] == 0xD8
        && b[2] == 0xFF
        && b[b.len().saturating_sub(64)..]
            .windows(2)
            .any(|w| w == [0xFF, 0xD9])
}

fn json_object(payload: &[u8]) -> Result<serde_json::Map<String, Value>, DropReason> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(DropReason::InvalidJson),
    }
}

pub fn parse_temperature(payload: &[u8]) -> Result<f64, DropReason> {
    let map = json_object(payload)?;
    let value = match map.get("temperature") {
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| DropReason::BadTemperature)?,
        Some(Value::Number(n)) => n.as_f64().ok_or(DropReason::BadTemperature)?,
        Some(_) => return Err(DropReason::BadTemperature),
        None => return Err(DropReason::MissingField),
    };
    // "nan" and "inf" parse as f64; a failing sensor is not a reading.
    if value.is_finite() && TEMPERATURE_RANGE.contains(&value) {
        Ok(value)
    } else {
        Err(DropReason::BadTemperature)
    }
}

pub fn parse_crying(payload: &[u8]) -> Result<Reading, DropReason> {
    let map = json_object(payload)?;
    let status = match map.get("status") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(DropReason::InvalidJson),
        None => return Err(DropReason::MissingField),
    };
    let probability = match map.get("probability") {
        Some(Value::Number(n)) => n.as_f64().filter(|p| p.is_finite()),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|p| p.is_finite()),
        _ => None,
    };
    Ok(Reading::Crying {
        crying: Crying::from_device(status),
        probability,
    })
}

pub fn parse_direction(payload: &[u8]) -> Result<Direction, DropReason> {
    let map = json_object(payload)?;
    match map.get("direction") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => {
            Ok(Direction::from_device(s))
        }
        Some(_) => Err(DropReason::InvalidJson),
        None => Err(DropReason::MissingField),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readings::DirectionKind;

    fn tiny_jpeg() -> Vec<u8> {
        let mut out = Vec::new();
        let img = image::RgbImage::new(8, 8);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn topics() {
        assert_eq!(parse_topic("cradle/abc/frame"), Ok(("abc", Kind::Frame)));
        assert_eq!(
            parse_topic("cradle/abc/temperature"),
            Ok(("abc", Kind::Temperature))
        );
        assert_eq!(
            parse_topic("cradle/abc/frame/extra"),
            Err(DropReason::BadTopic)
        );
        assert_eq!(parse_topic("cradle//frame"), Err(DropReason::BadTopic));
        assert_eq!(parse_topic("cradle/abc/servo"), Err(DropReason::BadTopic));
        assert_eq!(parse_topic("other/abc/frame"), Err(DropReason::BadTopic));
    }

    #[test]
    fn temperature_quirks() {
        assert_eq!(parse_temperature(br#"{"temperature": "37.4"}"#), Ok(37.4));
        assert_eq!(parse_temperature(br#"{"temperature": 36}"#), Ok(36.0));
        assert_eq!(
            parse_temperature(br#"{"temperature": " 36.5 ", "unit": "C"}"#),
            Ok(36.5)
        );
        assert_eq!(
            parse_temperature(br#"{"temperature": "nan"}"#),
            Err(DropReason::BadTemperature)
        );
        assert_eq!(
            parse_temperature(br#"{"temperature": "inf"}"#),
            Err(DropReason::BadTemperature)
        );
        assert_eq!(
            parse_temperature(br#"{"temperature": "999"}"#),
            Err(DropReason::BadTemperature)
        );
        assert_eq!(
            parse_temperature(br#"{"temperature": "warm"}"#),
            Err(DropReason::BadTemperature)
        );
        assert_eq!(
            parse_temperature(br#"{"temperature": null}"#),
            Err(DropReason::BadTemperature)
        );
        assert_eq!(
            parse_temperature(br#"{"temp": 1}"#),
            Err(DropReason::MissingField)
        );
        assert_eq!(parse_temperature(b"37.4"), Err(DropReason::InvalidJson));
        assert_eq!(parse_temperature(b"\xff\xfe"), Err(DropReason::InvalidJson));
    }

    #[test]
    fn crying_quirks() {
        let c = |p: &[u8]| match parse_crying(p) {
            Ok(Reading::Crying { crying, .. }) => Some(crying),
            _ => None,
        };
        assert_eq!(
            c(br#"{"status":"Crying","probability":0.9,"timestamp":"x"}"#),
            Some(Crying::Crying)
        );
        assert_eq!(
            c(br#"{"status":"Silent","probability":0.1}"#),
            Some(Crying::NotCrying)
        );
        assert_eq!(c(br#"{"status":"Not Crying"}"#), Some(Crying::NotCrying));
        assert_eq!(c(br#"{"status":"crying"}"#), Some(Crying::NotCrying));
        assert_eq!(c(br#"{"probability":0.9}"#), None);
    }

    #[test]
    fn directions() {
        let d = parse_direction(
            r#"{"direction":"인식 오류","timestamp":"2026-01-01 00:00:00"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(d.kind(), DirectionKind::DetectorError);
        assert!(d.is_face_missing());
        assert_eq!(d.raw(), "인식 오류");
        let d = parse_direction(r#"{"direction":"확인 중..."}"#.as_bytes()).unwrap();
        assert!(!d.is_frontal() && !d.is_face_missing());
        assert!(parse_direction(br#"{"direction":""}"#).is_err());
    }

    #[test]
    fn frames() {
        let jpeg = tiny_jpeg();
        let payload = format!(
            r#"{{"frame":"{}","timestamp":"2026-01-01 00:00:00","x":1}}"#,
            STANDARD.encode(&jpeg)
        );
        assert_eq!(
            parse_frame(payload.as_bytes()).unwrap(),
            Bytes::from(jpeg.clone())
        );
        // JSON may escape '/' in base64.
        let escaped = payload.replace('/', "\\/");
        assert_eq!(parse_frame(escaped.as_bytes()).unwrap(), Bytes::from(jpeg));
        assert_eq!(
            parse_frame(br#"{"frame":"!!!"}"#),
            Err(DropReason::InvalidBase64)
        );
        let png_b64 = STANDARD.encode(b"\x89PNG\r\n\x1a\n0000");
        assert_eq!(
            parse_frame(format!(r#"{{"frame":"{png_b64}"}}"#).as_bytes()),
            Err(DropReason::NotJpeg)
        );
        assert_eq!(parse_frame(b"{"), Err(DropReason::InvalidJson));
        // Found by tests/props: an array was read as the struct's fields.
        assert_eq!(
            parse_frame(br#"["/9j//9k="]"#),
            Err(DropReason::InvalidJson)
        );
        let spaced = format!(" \n{{\"frame\":\"{}\"}}", STANDARD.encode(tiny_jpeg()));
        assert!(parse_frame(spaced.as_bytes()).is_ok());
        assert_eq!(parse_frame(b"{}"), Err(DropReason::MissingField));
    }
}
