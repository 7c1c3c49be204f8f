//! `/stream/<uuid>`: MJPEG live view. Every viewer shares the cradle's latest
//! frame through a watch channel: the JPEG is never copied or re-encoded, a
//! slow viewer simply skips to the newest frame, and a viewer that stops
//! reading holds at most one frame while nobody else notices.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::live::LiveFrame;

use super::{AppState, MediaCradle};

fn part_header(frame: &LiveFrame) -> Bytes {
    Bytes::from(format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame-Seq: {}\r\nX-Received-At: {}\r\n\r\n",
        frame.jpeg.len(),
        frame.seq,
        frame.received_at
    ))
}

/// Ends (a clean end of the chunked body) when the hub shuts down, the
/// viewer's session ends or the viewer leaves the cradle's household.
pub async fn mjpeg(State(state): State<AppState>, media: MediaCradle) -> Response {
    let end = super::stream_lifetime(&state, media.session.clone());
    let rx = media.cradle.subscribe_frames();
    let (cradle, viewer, via_switch) =
        (media.cradle.clone(), media.user_id, media.via_lan_app_view);
    let parts = futures_util::stream::unfold((rx, 0u64), move |(mut rx, last_seq)| {
        let cradle = cradle.clone();
        async move {
            loop {
                // Removed from the household, or the owner turned the app
                // live view off: the picture stops.
                cradle.role_of(viewer)?;
                if via_switch && !cradle.lan_app_view() {
                    return None;
                }
                let frame = rx.borrow_and_update().clone();
                if let Some(frame) = frame.filter(|f| f.seq != last_seq) {
                    let seq = frame.seq;
                    // Each part ends with the next boundary: browsers draw a part
                    // only once they see the boundary after it.
                    let chunks = [
                        part_header(&frame),
                        frame.jpeg,
                        Bytes::from_static(b"\r\n--frame\r\n"),
                    ];
                    return Some((chunks, (rx, seq)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        }
    })
    .flat_map(|chunks| futures_util::stream::iter(chunks.map(Ok::<_, Infallible>)));
    let opening = futures_util::stream::once(async {
        Ok::<_, Infallible>(Bytes::from_static(b"--frame\r\n"))
    });
    let parts = opening.chain(parts).take_until(end);

    let mut res = Body::from_stream(parts).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("multipart/x-mixed-replace; boundary=frame"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}
