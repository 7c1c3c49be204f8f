//! Reading a cradle's QR code from a webcam-like photo. rqrr alone misses
//! dim, blurred, small or skewed codes, so a few cheap variants of the
//! picture are tried in order of cost until one decodes.

use image::imageops::{self, FilterType};
use image::{GrayImage, ImageFormat, ImageReader, Limits};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    #[error("the file is not a JPEG or PNG image")]
    NotAnImage,
    #[error("the image is too large")]
    TooLarge,
    #[error("no QR code found in the image")]
    NoCode,
}

/// Largest side accepted (a 12 MP phone photo is ~4000 px).
const MAX_SIDE: u32 = 8192;
/// Pictures are scaled down to about this long side first: detection is
/// faster and webcam blur disappears.
const WORK_SIDE: u32 = 1000;

pub fn decode(bytes: &[u8]) -> Result<String, QrError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(QrError::NotAnImage),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => QrError::TooLarge,
        _ => QrError::NotAnImage,
    })?;
    let gray = img.to_luma8();
    let long = gray.width().max(gray.height());
    let base = if long > WORK_SIDE {
        let scale = f64::from(WORK_SIDE) / f64::from(long);
        imageops::resize(
            &gray,
            ((f64::from(gray.width()) * scale) as u32).max(1),
            ((f64::from(gray.height()) * scale) as u32).max(1),
            FilterType::Triangle,
        )
    } else {
        gray
    };

    if let Some(text) = try_decode(&base) {
        return Ok(text);
    }
    let stretched = stretch_contrast(&base);
    if let Some(text) = try_decode(&stretched) {
        return Ok(text);
    }
    // Small codes: more pixels per module.
    if base.width().max(base.height()) < WORK_SIDE {
        let up = imageops::resize(
            &stretched,
            stretched.width() * 2,
            stretched.height() * 2,
            FilterType::Triangle,
        );
        if let Some(text) = try_decode(&up) {
            return Ok(text);
        }
    }
    // Uneven light: local thresholding.
    let binary = adaptive_threshold(&stretched, 25);
    if let Some(text) = try_decode(&binary) {
        return Ok(text);
    }
    // Smaller: blur and perspective matter less.
    let half = imageops::resize(
        &stretched,
        (stretched.width() / 2).max(1),
        (stretched.height() / 2).max(1),
        FilterType::Triangle,
    );
    if let Some(text) = try_decode(&half) {
        return Ok(text);
    }
    let sharpened = imageops::unsharpen(&stretched, 1.5, 10);
    try_decode(&sharpened).ok_or(QrError::NoCode)
}

fn try_decode(img: &GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// Maps the 1st..99th percentile of brightness onto 0..255.
fn stretch_contrast(img: &GrayImage) -> GrayImage {
    let mut histogram = [0u64; 256];
    for p in img.pixels() {
        histogram[p.0[0] as usize] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let percentile = |q: f64| {
        let target = (total as f64 * q) as u64;
        let mut seen = 0;
        for (v, n) in histogram.iter().enumerate() {
            seen += n;
            if seen > target {
                return v as i32;
            }
        }
        255
    };
    let (lo, hi) = (percentile(0.01), percentile(0.99));
    let span = (hi - lo).max(1);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0[0] = (((i32::from(p.0[0]) - lo) * 255) / span).clamp(0, 255) as u8;
    }
    out
}

/// Each pixel against the mean of its (2r+1)² neighbourhood, via an integral image.
fn adaptive_threshold(img: &GrayImage, r: u32) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(img.as_raw()[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let r = r as usize;
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let (x0, y0, x1, y1) = (
            x.saturating_sub(r),
            y.saturating_sub(r),
            (x + r + 1).min(w),
            (y + r + 1).min(h),
        );
        let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
            - integral[y0 * (w + 1) + x1]
            - integral[y1 * (w + 1) + x0];
        let mean = sum / ((x1 - x0) * (y1 - y0)) as u64;
        let v = u64::from(img.as_raw()[y * w + x]);
        image::Luma([if v * 100 < mean * 92 { 0 } else { 255 }])
    })
}

/// An SVG QR code of `text` (the hub's address, for phones on the LAN).
pub fn svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_fixture_photo_and_finds_none_where_there_is_none() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/qr");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/manifest.json")).unwrap())
                .unwrap();
        for entry in manifest.as_array().unwrap() {
            let file = entry["file"].as_str().unwrap();
            let bytes = std::fs::read(format!("{dir}/{file}")).unwrap();
            let result = decode(&bytes);
            match entry["text"].as_str() {
                Some(text) => assert_eq!(result.as_deref(), Ok(text), "{file}"),
                None => assert_eq!(result, Err(QrError::NoCode), "{file}"),
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(decode(b""), Err(QrError::NotAnImage));
        assert_eq!(decode(b"GIF89a......"), Err(QrError::NotAnImage));
        assert_eq!(
            decode(b"\xff\xd8\xff\xe0 truncated"),
            Err(QrError::NotAnImage)
        );
    }

    #[test]
    fn svg_round_trip_through_the_decoder() {
        let svg = svg("http://192.168.1.20:8080").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
    }
}
