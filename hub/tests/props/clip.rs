//! The clip muxer's input: stored frames as they may really be (cut short
//! by a full disk, from a cradle whose camera changed size, with receive
//! times that repeat or go back when the clock is set).

use std::io::Cursor;

use cradle_hub::media::clip::{ClipError, encode_mp4};
use cradle_hub::timefmt::Millis;
use image::{ImageFormat, RgbImage};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::config;

fn cases() -> proptest::test_runner::Config {
    config("PROPS_CLIP_CASES", 16)
}

fn jpeg(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([shade, (x * 7) as u8, (y * 5) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg)
        .expect("jpeg encodes");
    out.into_inner()
}

fn frame() -> impl Strategy<Value = Vec<u8>> {
    // Mostly sizes OpenH264 takes (16 px and up), some it refuses.
    let side = || prop_oneof![1 => 1u32..16, 3 => 16u32..72];
    let size = move || (side(), side(), any::<u8>());
    prop_oneof![
        4 => size().prop_map(|(w, h, s)| jpeg(w, h, s)),
        // A frame cut short (the store died mid-write, or a bad upload).
        2 => (size(), any::<usize>()).prop_map(|((w, h, s), cut)| {
            let j = jpeg(w, h, s);
            j[..cut % j.len()].to_vec()
        }),
        1 => (size(), any::<usize>(), any::<u8>()).prop_map(|((w, h, s), at, b)| {
            let mut j = jpeg(w, h, s);
            let at = at % j.len();
            j[at] = b;
            j
        }),
        1 => vec(any::<u8>(), 0..64),
        1 => vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.splice(0..0, [0xFF, 0xD8, 0xFF]);
            b
        }),
    ]
}

fn timestamps(n: usize) -> impl Strategy<Value = Vec<Millis>> {
    prop_oneof![
        // In order, some in the same millisecond.
        (any::<i32>(), vec(0i64..150, n)).prop_map(|(start, steps)| {
            steps
                .iter()
                .scan(i64::from(start), |t, s| {
                    *t += s;
                    Some(*t)
                })
                .collect()
        }),
        vec(-5_000i64..5_000, n),
        vec(any::<i64>(), n),
        vec(
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), Just(-1i64)],
            n
        ),
    ]
}

fn frames() -> impl Strategy<Value = Vec<(Millis, Vec<u8>)>> {
    (0usize..6).prop_flat_map(|n| {
        (timestamps(n), vec(frame(), n))
            .prop_map(|(ts, frames)| ts.into_iter().zip(frames).collect())
    })
}

fn check(frames: &[(Millis, Vec<u8>)]) -> Result<(), TestCaseError> {
    match encode_mp4(frames) {
        Ok(clip) => {
            prop_assert!(clip.mp4.len() > 8 && &clip.mp4[4..8] == b"ftyp");
            prop_assert!(clip.frames >= 1);
            prop_assert_eq!(clip.frames + clip.skipped, frames.len());
        }
        Err(e) => {
            prop_assert!(!e.to_string().trim().is_empty(), "{e:?} has no message");
            prop_assert_eq!(matches!(e, ClipError::Empty), frames.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn any_frames_give_an_mp4_or_an_error_with_a_reason(frames in frames()) {
        check(&frames)?;
    }
}

#[test]
fn extreme_receive_times() {
    let f = jpeg(16, 16, 1);
    // Regression: `ts - first_ts` overflowed (a panic in debug builds).
    for times in [[i64::MAX, i64::MIN], [0, -1], [5, 5], [-5, i64::MIN]] {
        let frames: Vec<_> = times.iter().map(|t| (*t, f.clone())).collect();
        let clip = encode_mp4(&frames).unwrap_or_else(|e| panic!("{times:?}: {e}"));
        assert_eq!(clip.frames, 2, "{times:?}");
        assert_eq!(&clip.mp4[4..8], b"ftyp");
    }
    // 292 million years between two frames does not fit the MP4's clock.
    let frames = [(i64::MIN, f.clone()), (i64::MAX, f)];
    match encode_mp4(&frames) {
        Err(e @ ClipError::Muxer(_)) => assert!(e.to_string().contains("overflow"), "{e}"),
        other => panic!("{:?}", other.map(|c| c.frames)),
    }
}

#[test]
fn odd_and_tiny_dimensions() {
    for (w, h) in [
        (1, 1),
        (1, 17),
        (17, 1),
        (2, 2),
        (3, 5),
        (15, 9),
        (16, 16),
        (17, 17),
        (33, 31),
    ] {
        let frames = vec![(0, jpeg(w, h, 9)), (100, jpeg(w, h, 90))];
        match encode_mp4(&frames) {
            Ok(clip) => assert_eq!(&clip.mp4[4..8], b"ftyp", "{w}x{h}"),
            // OpenH264 refuses frames smaller than a macroblock; cradles send 640×480.
            Err(e) => assert!(w < 16 || h < 16, "{w}x{h}: {e}"),
        }
    }
}
