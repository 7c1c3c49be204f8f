//! The QR decoder behind `POST /api/qr/decode`: uploads of any bytes, and
//! generated pictures with and without a code.

use std::io::Cursor;

use cradle_hub::qr::{QrError, decode};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, RgbImage};
use proptest::collection::vec;
use proptest::prelude::*;
use qrcode::{Color, QrCode};

use crate::config;

fn cases() -> proptest::test_runner::Config {
    config("PROPS_QR_CASES", 24)
}

fn check_error(result: &Result<String, QrError>) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(!e.to_string().trim().is_empty(), "{e:?} has no message");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Png,
    Jpeg(u8),
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Png), (60u8..=95).prop_map(Format::Jpeg)]
}

fn encode(img: &DynamicImage, format: Format) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        Format::Png => img.write_to(&mut out, ImageFormat::Png),
        Format::Jpeg(quality) => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&rgb)
        }
    }
    .expect("image encodes");
    out.into_inner()
}

/// Small pictures of noise, flat colour or gradients: no code to find.
fn picture() -> impl Strategy<Value = DynamicImage> {
    (1u32..96, 1u32..96, any::<bool>(), any::<u64>(), 0u8..3).prop_map(
        |(w, h, gray, seed, style)| {
            let px = move |x: u32, y: u32, c: u64| -> u8 {
                match style {
                    0 => {
                        let mut v = seed ^ (u64::from(x) << 32 | u64::from(y)) ^ (c << 60);
                        v = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        (v >> 56) as u8
                    }
                    1 => (seed >> (c * 8)) as u8,
                    _ => ((x * 255) / w.max(1)) as u8 ^ ((y * 255) / h.max(1)) as u8,
                }
            };
            if gray {
                DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| Luma([px(x, y, 0)])))
            } else {
                DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
                    image::Rgb([px(x, y, 0), px(x, y, 1), px(x, y, 2)])
                }))
            }
        },
    )
}

/// `text` as a QR code, `scale` pixels per module, with a quiet zone,
/// placed at (`dx`, `dy`) on a light background of `margin` extra pixels.
fn qr_picture(text: &str, scale: u32, dx: u32, dy: u32, margin: u32, light: u8) -> GrayImage {
    let code = QrCode::new(text.as_bytes()).expect("text fits a QR code");
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let side = (modules + 8) * scale;
    let (w, h) = (side + margin, side + margin);
    let (dx, dy) = (dx.min(margin), dy.min(margin));
    GrayImage::from_fn(w, h, |x, y| {
        let inside = |v: u32, d: u32| v.checked_sub(d + 4 * scale).map(|v| v / scale);
        match (inside(x, dx), inside(y, dy)) {
            (Some(mx), Some(my)) if mx < modules && my < modules => {
                match colors[(my * modules + mx) as usize] {
                    Color::Dark => Luma([20]),
                    Color::Light => Luma([light]),
                }
            }
            _ => Luma([light]),
        }
    })
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn any_upload_is_text_or_an_error_with_a_reason(bytes in vec(any::<u8>(), 0..2048)) {
        check_error(&decode(&bytes))?;
    }

    #[test]
    fn bytes_behind_an_image_signature(
        png in any::<bool>(),
        tail in vec(any::<u8>(), 0..2048),
    ) {
        // The signatures get past format detection into the decoders.
        let mut bytes = if png {
            b"\x89PNG\r\n\x1a\n".to_vec()
        } else {
            vec![0xFF, 0xD8, 0xFF, 0xE0]
        };
        bytes.extend_from_slice(&tail);
        check_error(&decode(&bytes))?;
    }

    #[test]
    fn damaged_real_images(
        img in picture(),
        format in format(),
        cut in any::<usize>(),
        flips in vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let mut bytes = encode(&img, format);
        for (at, byte) in flips {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        check_error(&decode(&bytes))?;
    }

    #[test]
    fn pictures_without_a_code(img in picture(), format in format()) {
        let result = decode(&encode(&img, format));
        check_error(&result)?;
        prop_assert!(result.is_err(), "a code in noise: {:?}", result);
    }

    #[test]
    fn a_code_decodes_to_the_text_encoded(
        text in prop_oneof![
            "[a-zA-Z0-9-]{1,40}",
            ".{1,20}",
            Just("cradle-unique-id-example".to_owned()),
        ],
        scale in 3u32..7,
        (dx, dy, margin) in (0u32..40, 0u32..40, 0u32..40),
        light in 170u8..=255,
        format in format(),
    ) {
        let img = DynamicImage::ImageLuma8(qr_picture(&text, scale, dx, dy, margin, light));
        prop_assert_eq!(decode(&encode(&img, format)), Ok(text));
    }
}
