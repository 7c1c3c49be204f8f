//! MQTT packets through the decode step of the hub's own endpoint
//! (`decode_next`, what each connection calls on its read buffer).

use bytes::BytesMut;
use cradle_hub::config::DEFAULT_MAX_MQTT_PAYLOAD;
use cradle_hub::mqtt::server::{CloseReason, Read, decode_next};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use rumqttc::{
    Connect, LastWill, Login, Packet, PubAck, PubRel, Publish, QoS, Subscribe, SubscribeFilter,
    Unsubscribe,
};

use crate::cheap;

/// The endpoint's limit with the default settings (`ServerConfig::max_packet`).
const MAX_PACKET: usize = DEFAULT_MAX_MQTT_PAYLOAD + 16 * 1024;

/// How reading a buffer ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Waiting for more bytes.
    Partial,
    Closed(CloseReason),
}

/// Decodes `buf` the way a connection does until it must wait or close,
/// checking what every step promises the connection.
fn drain(buf: &mut BytesMut, max_packet: usize, packets: &mut Vec<Packet>) -> End {
    loop {
        let before = buf.len();
        match decode_next(buf, max_packet) {
            Read::Packet(p) => {
                // Every packet has at least a type byte and a length byte,
                // so the loop always makes progress.
                assert!(buf.len() + 2 <= before, "a packet consumed too little");
                packets.push(p);
            }
            Read::Partial(missing) => {
                assert!(missing > 0, "waiting for zero more bytes");
                assert_eq!(buf.len(), before, "a partial read consumed bytes");
                // The connection reserves `missing` bytes: bounded by the
                // limit plus the largest fixed header (1 + 4 length bytes).
                assert!(
                    buf.len() + missing <= max_packet + 5,
                    "would buffer {} bytes past a {max_packet} limit",
                    buf.len() + missing
                );
                return End::Partial;
            }
            Read::Bad(reason, e) => {
                assert!(
                    matches!(reason, CloseReason::ProtocolError | CloseReason::Oversized),
                    "{reason:?}"
                );
                assert!(!e.to_string().trim().is_empty(), "{e:?} has no message");
                return End::Closed(reason);
            }
        }
    }
}

fn decode_all(bytes: &[u8], max_packet: usize) -> (Vec<Packet>, End) {
    let mut packets = Vec::new();
    let end = drain(&mut BytesMut::from(bytes), max_packet, &mut packets);
    (packets, end)
}

/// The same bytes arriving in chunks, as TCP may split them.
fn decode_chunked(bytes: &[u8], cuts: &[usize], max_packet: usize) -> (Vec<Packet>, End) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(bytes.len());
    let mut packets = Vec::new();
    let mut buf = BytesMut::new();
    let mut from = 0;
    let mut end = End::Partial;
    for cut in cuts {
        buf.extend_from_slice(&bytes[from..cut]);
        from = cut;
        end = drain(&mut buf, max_packet, &mut packets);
        if end != End::Partial {
            break;
        }
    }
    (packets, end)
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        // One buffer per packet: rumqttc's `Connect::write` patches its
        // flags byte at an index from the start of the buffer, so a CONNECT
        // written after other bytes corrupts them (found by this test).
        let mut one = BytesMut::new();
        p.write(&mut one, usize::MAX)
            .expect("a valid packet encodes");
        out.extend_from_slice(&one);
    }
    out
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// Strings like the ones cradles and clients send, and some they should not.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[a-z0-9/+#_-]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        Just("cradle/cradle-unique-id-example/frame".to_owned()),
        Just("cradle/아기침대/servo".to_owned()),
        Just("\u{0}".to_owned()),
    ]
}

fn connect() -> impl Strategy<Value = Packet> {
    let will = (text(40), vec(any::<u8>(), 0..64), qos(), any::<bool>())
        .prop_map(|(topic, msg, qos, retain)| LastWill::new(topic, msg, qos, retain));
    // A login with both fields empty encodes as no login at all.
    let login = (
        text(30).prop_filter("a username", |u| !u.is_empty()),
        text(30),
    )
        .prop_map(|(u, p)| Login::new(u, p));
    (
        text(64),
        any::<u16>(),
        any::<bool>(),
        option::of(will),
        option::of(login),
    )
        .prop_map(|(id, keep_alive, clean_session, last_will, login)| {
            let mut c = Connect::new(id);
            c.keep_alive = keep_alive;
            c.clean_session = clean_session;
            c.last_will = last_will;
            c.login = login;
            Packet::Connect(c)
        })
}

fn publish() -> impl Strategy<Value = Packet> {
    (
        text(80),
        qos(),
        1..=u16::MAX,
        any::<bool>(),
        any::<bool>(),
        vec(any::<u8>(), 0..512),
    )
        .prop_map(|(topic, qos, pkid, dup, retain, payload)| {
            let mut p = Publish::new(topic, qos, payload);
            p.pkid = if qos == QoS::AtMostOnce { 0 } else { pkid };
            p.dup = dup;
            p.retain = retain;
            Packet::Publish(p)
        })
}

fn subscribe() -> impl Strategy<Value = Packet> {
    (any::<u16>(), vec((text(60), qos()), 1..5)).prop_map(|(pkid, filters)| {
        let mut s = Subscribe::new_many(
            filters
                .into_iter()
                .map(|(path, qos)| SubscribeFilter::new(path, qos)),
        );
        s.pkid = pkid;
        Packet::Subscribe(s)
    })
}

/// Any packet a client may send the hub.
fn client_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        3 => connect(),
        4 => publish(),
        3 => subscribe(),
        1 => (any::<u16>(), vec(text(40), 1..3))
            .prop_map(|(pkid, topics)| {
                let mut u = Unsubscribe::new(String::new());
                u.pkid = pkid;
                u.topics = topics;
                Packet::Unsubscribe(u)
            }),
        1 => (1..=u16::MAX).prop_map(|id| Packet::PubAck(PubAck::new(id))),
        1 => (1..=u16::MAX).prop_map(|id| Packet::PubRel(PubRel::new(id))),
        1 => Just(Packet::PingReq),
        1 => Just(Packet::Disconnect),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at (index mod length).
    Set(usize, u8),
    FlipBit(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    /// New type and flags nibbles in the first byte of the packet.
    FirstByte(u8),
    /// A new remaining-length encoding, up to four bytes with continuation bits.
    Length(Vec<u8>),
    /// A string length prefix (two bytes) somewhere in the packet.
    StringLength(usize, u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 0..8u8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<u8>().prop_map(Mutation::FirstByte),
        vec(any::<u8>(), 1..=4).prop_map(Mutation::Length),
        (any::<usize>(), any::<u16>()).prop_map(|(i, n)| Mutation::StringLength(i, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let at = |i: usize| i % bytes.len();
        match m {
            Mutation::Set(i, b) => {
                let i = at(*i);
                bytes[i] = *b;
            }
            Mutation::FlipBit(i, bit) => {
                let i = at(*i);
                bytes[i] ^= 1 << bit;
            }
            Mutation::Truncate(i) => bytes.truncate(at(*i)),
            Mutation::Insert(i, extra) => {
                let i = at(*i);
                bytes.splice(i..i, extra.iter().copied());
            }
            Mutation::FirstByte(b) => bytes[0] = *b,
            Mutation::Length(len) => {
                // Replace the original length bytes (those after byte 0 with
                // the continuation bit, and the one that ends them).
                let old = bytes[1..].iter().take_while(|b| *b & 0x80 != 0).count() + 1;
                let end = (1 + old).min(bytes.len());
                bytes.splice(1..end, len.iter().copied());
            }
            Mutation::StringLength(i, n) => {
                let i = at(*i);
                if i + 2 <= bytes.len() {
                    bytes[i..i + 2].copy_from_slice(&n.to_be_bytes());
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(cheap(2000))]

    #[test]
    fn arbitrary_bytes_decode_or_close_with_a_reason(
        bytes in vec(any::<u8>(), 0..600),
        cuts in vec(any::<usize>(), 0..6),
    ) {
        let whole = decode_all(&bytes, MAX_PACKET);
        // The connection sees whatever chunks TCP delivers: how the bytes
        // are split must not change what is decoded or how it ends.
        prop_assert_eq!(decode_chunked(&bytes, &cuts, MAX_PACKET), whole);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header(
        first in any::<u8>(),
        len in 0usize..700,
        body in vec(any::<u8>(), 0..700),
    ) {
        // A plausible fixed header gets past `check` into each packet
        // type's own reader, which random bytes rarely reach.
        let mut bytes = vec![first];
        let mut n = len;
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 0x80;
            }
            bytes.push(b);
            if n == 0 {
                break;
            }
        }
        bytes.extend_from_slice(&body);
        decode_all(&bytes, MAX_PACKET);
    }

    #[test]
    fn valid_packets_round_trip(packets in vec(client_packet(), 1..4), cuts in vec(any::<usize>(), 0..4)) {
        let bytes = encode(&packets);
        prop_assert_eq!(decode_all(&bytes, MAX_PACKET), (packets.clone(), End::Partial));
        prop_assert_eq!(decode_chunked(&bytes, &cuts, MAX_PACKET), (packets, End::Partial));
    }

    #[test]
    fn mutated_packets_decode_or_close_with_a_reason(
        packets in vec(client_packet(), 1..3),
        mutations in vec(mutation(), 1..4),
        cuts in vec(any::<usize>(), 0..4),
    ) {
        let bytes = mutate(encode(&packets), &mutations);
        let whole = decode_all(&bytes, MAX_PACKET);
        prop_assert_eq!(decode_chunked(&bytes, &cuts, MAX_PACKET), whole);
    }

    #[test]
    fn a_small_limit_closes_instead_of_buffering(
        packet in publish(),
        limit in 0usize..600,
    ) {
        let bytes = encode(std::slice::from_ref(&packet));
        let (packets, end) = decode_all(&bytes, limit);
        let len_len = bytes[1..].iter().take_while(|b| *b & 0x80 != 0).count() + 1;
        let remaining = bytes.len() - 1 - len_len;
        if remaining > limit {
            prop_assert!(packets.is_empty());
            prop_assert_eq!(end, End::Closed(CloseReason::Oversized));
        } else {
            prop_assert_eq!((packets, end), (vec![packet], End::Partial));
        }
    }
}

#[test]
fn an_announced_length_over_the_limit_closes_before_the_bytes_arrive() {
    // PUBLISH announcing 268,435,455 bytes (the largest MQTT length).
    let (packets, end) = decode_all(&[0x30, 0xff, 0xff, 0xff, 0x7f], MAX_PACKET);
    assert!(packets.is_empty());
    assert_eq!(end, End::Closed(CloseReason::Oversized));
}

#[test]
fn a_five_byte_length_is_a_protocol_error() {
    let (_, end) = decode_all(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], MAX_PACKET);
    assert_eq!(end, End::Closed(CloseReason::ProtocolError));
}
