//! Recorded video: H.264 MP4 clips from stored JPEG frames.

pub mod clip;
