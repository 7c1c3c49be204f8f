//! MQTT topics and payloads (PROTOCOL.md), quirks and junk included.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use cradle_hub::mqtt::parse::{
    DropReason, Kind, MAX_UUID_LEN, Message, TEMPERATURE_RANGE, looks_like_jpeg, parse_crying,
    parse_direction, parse_frame, parse_payload, parse_temperature, parse_topic,
};
use cradle_hub::readings::{Crying, Reading};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use crate::cheap;

const KINDS: [Kind; 4] = [
    Kind::Frame,
    Kind::Direction,
    Kind::Crying,
    Kind::Temperature,
];

const KEYS: [&str; 9] = [
    "temperature",
    "status",
    "probability",
    "direction",
    "frame",
    "timestamp",
    "unit",
    "Temperature",
    "x",
];

/// What the device, older firmware, test tools and broken sensors send.
const STRINGS: [&str; 28] = [
    "37.4",
    " 36.5 ",
    "36,6",
    "-0",
    "1e2",
    "1e999",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "infinity",
    "",
    " ",
    "warm",
    "Crying",
    "crying",
    "Silent",
    "Not Crying",
    "정면 유지 중",
    "좌측으로 움직임",
    "우측으로 움직임",
    "인식 안됨",
    "인식 오류",
    "확인 중...",
    "2026-01-01 00:00:00",
    "2026-11-22T20:56:17",
    "2026-13-45 99:99:99",
    "\u{0}\u{feff}\u{202e}",
];

fn reason_is_named(reason: DropReason) -> bool {
    DropReason::ALL.contains(&reason) && !reason.as_str().trim().is_empty()
}

/// A tiny real JPEG: the frame parser checks markers only, so most
/// generated frames are other bytes with or without JPEG's markers.
fn real_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("jpeg encodes");
    out
}

fn frame_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..200),
        vec(any::<u8>(), 0..200).prop_map(|mut b| {
            b.splice(0..0, [0xFF, 0xD8, 0xFF]);
            b
        }),
        (vec(any::<u8>(), 0..200), 0usize..100).prop_map(|(mut b, pad)| {
            b.splice(0..0, [0xFF, 0xD8, 0xFF]);
            b.extend_from_slice(&[0xFF, 0xD9]);
            b.extend(std::iter::repeat_n(0, pad));
            b
        }),
        Just(real_jpeg()),
        any::<usize>().prop_map(|cut| {
            let j = real_jpeg();
            j[..cut % j.len()].to_vec()
        }),
    ]
    .boxed()
}

/// Base64 as devices send it, and as they should not.
fn base64_text() -> BoxedStrategy<String> {
    prop_oneof![
        frame_bytes().prop_map(|b| STANDARD.encode(b)),
        frame_bytes().prop_map(|b| STANDARD_NO_PAD.encode(b)),
        frame_bytes().prop_map(|b| format!(" {}\n", STANDARD.encode(b))),
        frame_bytes().prop_map(|b| STANDARD.encode(b).replace('+', "-").replace('/', "_")),
        (frame_bytes(), any::<usize>(), any::<char>()).prop_map(|(b, at, c)| {
            let mut s = STANDARD.encode(b);
            let at = at % (s.len() + 1);
            if s.is_char_boundary(at) {
                s.insert(at, c);
            }
            s
        }),
        "[A-Za-z0-9+/=]{0,64}",
    ]
    .boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-40.0f64..90.0).prop_map(Value::from),
        proptest::sample::select(&STRINGS[..]).prop_map(Value::from),
        any::<f64>().prop_map(|f| Value::String(f.to_string())),
        ".{0,20}".prop_map(Value::String),
        base64_text().prop_map(Value::String),
    ]
    .boxed()
}

fn json() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Array),
                btree_map(proptest::sample::select(&KEYS[..]), inner, 0..5).prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
        .boxed()
}

/// An object with the fields the parsers look for, of any type.
fn payload_object() -> impl Strategy<Value = Value> {
    btree_map(proptest::sample::select(&KEYS[..]), json(), 0..5).prop_map(|m| {
        Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

/// Number literals serde_json cannot hold in an f64, and other raw text,
/// spliced in where a value belongs.
const RAW_VALUES: [&str; 14] = [
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "0.000000000000000000000000000000000000000000000000001",
    "NaN",
    "Infinity",
    "0x10",
    "+36",
    "036.5",
    "36.",
    "\"\\ud800\"",
    "\"\\u0000\"",
];

fn raw_payload() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(&KEYS[..]),
        proptest::sample::select(&RAW_VALUES[..]),
    )
        .prop_map(|(k, v)| format!("{{\"{k}\": {v}}}").into_bytes())
}

/// Text payloads after the kinds of damage a link or a device does.
fn damaged(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = bytes.len();
    prop_oneof![
        Just(bytes.clone()),
        (0..=len).prop_map({
            let b = bytes.clone();
            move |cut| b[..cut].to_vec()
        }),
        (0..=len, vec(0x80u8..=0xFF, 1..4)).prop_map({
            let b = bytes.clone();
            move |(at, junk)| {
                let mut b = b.clone();
                b.splice(at..at, junk);
                b
            }
        }),
        (0..=len, any::<u8>()).prop_map(move |(at, byte)| {
            let mut b = bytes.clone();
            if at < b.len() {
                b[at] = byte;
            }
            b
        }),
    ]
}

fn any_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..300),
        raw_payload(),
        payload_object()
            .prop_map(|v| serde_json::to_vec(&v).expect("serialises"))
            .prop_flat_map(damaged),
        json().prop_map(|v| serde_json::to_vec(&v).expect("serialises")),
    ]
}

/// What a successful parse must agree with: the same bytes read as JSON.
fn field(payload: &[u8], key: &str) -> Option<Value> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(mut m)) => m.remove(key),
        _ => None,
    }
}

fn check_temperature(payload: &[u8]) -> Result<(), TestCaseError> {
    match parse_temperature(payload) {
        Ok(t) => {
            prop_assert!(t.is_finite() && TEMPERATURE_RANGE.contains(&t), "{t}");
            let expected = match field(payload, "temperature") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            prop_assert_eq!(Some(t), expected);
        }
        Err(reason) => prop_assert!(reason_is_named(reason), "{reason:?}"),
    }
    Ok(())
}

fn check_crying(payload: &[u8]) -> Result<(), TestCaseError> {
    match parse_crying(payload) {
        Ok(Reading::Crying {
            crying,
            probability,
        }) => {
            let status = field(payload, "status");
            let is_crying = status.as_ref().and_then(Value::as_str) == Some("Crying");
            prop_assert_eq!(crying == Crying::Crying, is_crying, "{:?}", status);
            prop_assert!(probability.is_none_or(f64::is_finite));
        }
        Ok(other) => prop_assert!(false, "crying payload read as {other:?}"),
        Err(reason) => prop_assert!(reason_is_named(reason), "{reason:?}"),
    }
    Ok(())
}

fn check_direction(payload: &[u8]) -> Result<(), TestCaseError> {
    match parse_direction(payload) {
        Ok(d) => {
            // Kept verbatim: the API returns the device's string as sent.
            let sent = field(payload, "direction");
            prop_assert_eq!(Some(d.raw()), sent.as_ref().and_then(Value::as_str));
            prop_assert!(!d.raw().trim().is_empty());
        }
        Err(reason) => prop_assert!(reason_is_named(reason), "{reason:?}"),
    }
    Ok(())
}

fn check_frame(payload: &[u8]) -> Result<(), TestCaseError> {
    match parse_frame(payload) {
        Ok(jpeg) => {
            prop_assert!(looks_like_jpeg(&jpeg));
            let sent = field(payload, "frame");
            let b64 = sent.as_ref().and_then(Value::as_str).map(str::trim);
            let decoded = b64.and_then(|s| {
                STANDARD
                    .decode(s)
                    .or_else(|_| STANDARD_NO_PAD.decode(s))
                    .ok()
            });
            prop_assert_eq!(Some(jpeg.to_vec()), decoded);
        }
        Err(reason) => prop_assert!(reason_is_named(reason), "{reason:?}"),
    }
    Ok(())
}

fn check_all(payload: &[u8]) -> Result<(), TestCaseError> {
    check_temperature(payload)?;
    check_crying(payload)?;
    check_direction(payload)?;
    check_frame(payload)?;
    for kind in KINDS {
        // `parse_payload` dispatches to the parsers checked above.
        let message = parse_payload(kind, payload);
        match (kind, &message) {
            (Kind::Frame, Ok(Message::Frame(_)))
            | (Kind::Temperature, Ok(Message::Reading(Reading::Temperature(_))))
            | (Kind::Crying, Ok(Message::Reading(Reading::Crying { .. })))
            | (Kind::Direction, Ok(Message::Reading(Reading::Direction(_)))) => {}
            (_, Err(reason)) => prop_assert!(reason_is_named(*reason)),
            _ => prop_assert!(false, "{kind:?} payload read as {message:?}"),
        }
    }
    Ok(())
}

fn topic() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        proptest::sample::select(
            &[
                "frame",
                "direction",
                "crying",
                "temperature",
                "servo",
                "Frame",
                ""
            ][..]
        )
        .prop_map(str::to_owned),
        ".{0,12}",
    ];
    prop_oneof![
        ".{0,200}",
        (".{0,140}", kind.clone()).prop_map(|(uuid, kind)| format!("cradle/{uuid}/{kind}")),
        ("[a-z0-9-]{0,140}", kind, "(/.{0,5})?")
            .prop_map(|(uuid, kind, tail)| format!("cradle/{uuid}/{kind}{tail}")),
    ]
}

proptest! {
    #![proptest_config(cheap(2000))]

    #[test]
    fn every_payload_is_a_reading_or_a_named_drop(payload in any_payload()) {
        check_all(&payload)?;
    }

    #[test]
    fn quirky_payloads_of_each_kind(
        temperature in scalar(),
        status in scalar(),
        probability in scalar(),
        direction in scalar(),
        frame in prop_oneof![base64_text().prop_map(Value::String), scalar()],
        timestamp in scalar(),
    ) {
        for (key, value) in [
            ("temperature", temperature),
            ("status", status),
            ("direction", direction),
            ("frame", frame),
        ] {
            let mut object = Map::new();
            object.insert(key.to_owned(), value);
            object.insert("probability".to_owned(), probability.clone());
            object.insert("timestamp".to_owned(), timestamp.clone());
            check_all(&serde_json::to_vec(&Value::Object(object)).expect("serialises"))?;
        }
    }

    #[test]
    fn topics_name_one_cradle_and_kind_or_are_dropped(topic in topic()) {
        match parse_topic(&topic) {
            Ok((uuid, kind)) => {
                prop_assert!(!uuid.is_empty() && uuid.len() <= MAX_UUID_LEN);
                prop_assert!(!uuid.contains('/'));
                let name = match kind {
                    Kind::Frame => "frame",
                    Kind::Direction => "direction",
                    Kind::Crying => "crying",
                    Kind::Temperature => "temperature",
                };
                prop_assert_eq!(format!("cradle/{uuid}/{name}"), topic);
            }
            Err(reason) => prop_assert_eq!(reason, DropReason::BadTopic),
        }
    }
}

#[test]
fn device_quirks_from_the_protocol() {
    assert_eq!(parse_temperature(br#"{"temperature":"37.4"}"#), Ok(37.4));
    for junk in [
        &br#"{"temperature":"nan"}"#[..],
        br#"{"temperature":1e999}"#,
        br#"{"temperature":18446744073709551616}"#,
        br#"{"temperature":"1e999"}"#,
        b"{\"temperature\":\"3\xff7\"}",
    ] {
        assert!(parse_temperature(junk).is_err(), "{junk:?}");
    }
    // Regression: a JSON array was read as a frame payload by position.
    assert_eq!(
        parse_frame(br#"["/9j//9k="]"#),
        Err(DropReason::InvalidJson)
    );
    let d = parse_direction(
        r#"{"direction":"정면 유지 중","timestamp":"2026-01-01 00:00:00"}"#.as_bytes(),
    )
    .expect("a Korean direction is read");
    assert!(d.is_frontal());
}
