//! JPEG frames → H.264 (openh264) → MP4 (muxide, index first so browsers
//! start playing at once). Frame times are the hub's receive times.
//! CPU-bound: callers run it on the blocking pool.

use image::ImageFormat;
use muxide::api::{MuxerBuilder, VideoCodec};
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};

use crate::timefmt::Millis;

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("no frames to encode")]
    Empty,
    #[error("no frame could be decoded")]
    NothingDecodable,
    #[error("encoder: {0}")]
    Encoder(String),
    #[error("muxer: {0}")]
    Muxer(String),
}

/// Nominal rate the cradles send at; the real times go into the MP4.
const FRAME_RATE: f32 = 10.0;

pub struct Clip {
    pub mp4: Vec<u8>,
    pub frames: usize,
    pub skipped: usize,
}

/// Encodes frames (receive time, JPEG) in time order. Frames that do not
/// decode, or whose size differs from the first frame, are skipped.
pub fn encode_mp4(frames: &[(Millis, Vec<u8>)]) -> Result<Clip, ClipError> {
    let first_ts = frames.first().ok_or(ClipError::Empty)?.0;
    let mut decoded = frames.iter().filter_map(|(ts, jpeg)| {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
            .ok()
            .map(|i| (*ts, i.to_rgb8()))
    });
    let (ts0, img0) = decoded.next().ok_or(ClipError::NothingDecodable)?;
    // 4:2:0 needs even dimensions: drop a last odd row/column.
    let (w, h) = (img0.width() & !1, img0.height() & !1);
    if w == 0 || h == 0 {
        return Err(ClipError::NothingDecodable);
    }

    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(600_000))
        .rate_control_mode(RateControlMode::Bitrate)
        .max_frame_rate(FrameRate::from_hz(FRAME_RATE))
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(20));
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| ClipError::Encoder(e.to_string()))?;
    let mut muxer = MuxerBuilder::new(Vec::with_capacity(1 << 20))
        .video(VideoCodec::H264, w, h, f64::from(FRAME_RATE))
        .with_fast_start(true)
        .build()
        .map_err(|e| ClipError::Muxer(e.to_string()))?;

    let mut written = 0usize;
    let mut skipped = frames.len();
    let mut last_pts = -1.0f64;
    let mut yuv = YUVBuffer::new(w as usize, h as usize);
    let mut bitstream = Vec::with_capacity(64 * 1024);
    for (ts, img) in std::iter::once((ts0, img0)).chain(decoded) {
        let img = if img.width() == w && img.height() == h {
            img
        } else if img.width() >= w && img.height() >= h {
            image::imageops::crop_imm(&img, 0, 0, w, h).to_image()
        } else {
            continue;
        };
        yuv.read_rgb8(RgbSliceU8::new(img.as_raw(), (w as usize, h as usize)));
        let encoded = encoder
            .encode(&yuv)
            .map_err(|e| ClipError::Encoder(e.to_string()))?;
        let keyframe = matches!(encoded.frame_type(), FrameType::IDR | FrameType::I);
        bitstream.clear();
        encoded.write_vec(&mut bitstream);
        if bitstream.is_empty() {
            continue;
        }
        // Strictly increasing times even when two frames arrived in the same millisecond.
        // Saturating: stored times are the hub's own, but a clock set far
        // off (or a corrupt row) must not overflow.
        let pts = (ts.saturating_sub(first_ts).max(0) as f64 / 1000.0).max(last_pts + 0.001);
        muxer
            .write_video(pts, &bitstream, keyframe || written == 0)
            .map_err(|e| ClipError::Muxer(e.to_string()))?;
        last_pts = pts;
        written += 1;
        skipped -= 1;
    }
    if written == 0 {
        return Err(ClipError::NothingDecodable);
    }
    muxer
        .finish_in_place()
        .map_err(|e| ClipError::Muxer(e.to_string()))?;
    Ok(Clip {
        mp4: muxer.into_writer(),
        frames: written,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(shade: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([shade, (x * 4) as u8, (y * 5) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn encodes_an_mp4_with_every_decodable_frame() {
        let frames: Vec<(Millis, Vec<u8>)> = (0..12)
            .map(|i| (1_000 + i * 100, jpeg(i as u8 * 20)))
            .collect();
        let mut with_junk = frames.clone();
        with_junk.insert(3, (1_250, b"\xff\xd8 not really".to_vec()));
        let clip = encode_mp4(&with_junk).unwrap();
        assert_eq!(clip.frames, 12);
        assert_eq!(clip.skipped, 1);
        assert_eq!(&clip.mp4[4..8], b"ftyp");
    }

    #[test]
    fn refuses_nothing() {
        assert!(matches!(encode_mp4(&[]), Err(ClipError::Empty)));
        assert!(matches!(
            encode_mp4(&[(0, b"junk".to_vec())]),
            Err(ClipError::NothingDecodable)
        ));
    }
}
