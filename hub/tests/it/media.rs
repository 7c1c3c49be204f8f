use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestHub, fixture_frame};

/// Reads one multipart part: (headers, body).
async fn next_part(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut Vec<u8>,
) -> (String, Vec<u8>) {
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("every part has a Content-Length")
                .trim()
                .parse()
                .unwrap();
            let body_start = head_end + 4;
            if buf.len() >= body_start + len + 2 {
                let body = buf[body_start..body_start + len].to_vec();
                assert_eq!(&buf[body_start + len..body_start + len + 2], b"\r\n");
                buf.drain(..body_start + len + 2);
                return (head, body);
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a frame within 5 s")
            .expect("stream open")
            .expect("chunk");
        buf.extend_from_slice(&chunk);
    }
}

#[tokio::test]
async fn mjpeg_passes_frames_through_byte_for_byte() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cam").await;
    let cradle = t.cradle("cam").await;
    let (f0, f1) = (fixture_frame(0), fixture_frame(1));

    cradle.frame(&f0).await;
    ann.wait_for("/api/agent_status/cam", |b| {
        b["last_frame_time"].is_string()
    })
    .await;

    let res = ann.raw(Method::GET, "/stream/cam").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "multipart/x-mixed-replace; boundary=frame"
    );
    let mut stream = res.bytes_stream();
    let mut buf = Vec::new();
    let (head, body) = next_part(&mut stream, &mut buf).await;
    assert!(
        head.starts_with("--frame\r\nContent-Type: image/jpeg"),
        "{head}"
    );
    assert_eq!(body, f0, "the latest frame is sent at once, unchanged");

    // Not a JPEG: never reaches the viewer.
    let png = cradle_png();
    cradle.frame(&png).await;
    cradle.frame(&f1).await;
    let (_, body) = next_part(&mut stream, &mut buf).await;
    assert_eq!(body, f1);

    // No new frame: nothing is sent again (the closing boundary may still trickle in).
    let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
        buf.extend_from_slice(&chunk);
    }
    assert!(
        !String::from_utf8_lossy(&buf).contains("Content-Type"),
        "the same frame is not repeated"
    );
}

fn cradle_png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(4, 4)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_viewer_that_stops_reading_does_not_stall_others() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cam").await;
    let cradle = t.cradle("cam").await;
    let frame = fixture_frame(0);
    cradle.frame(&frame).await;
    ann.wait_for("/api/agent_status/cam", |b| {
        b["last_frame_time"].is_string()
    })
    .await;

    // The stuck viewer: opens the stream and never reads.
    let stuck = ann.raw(Method::GET, "/stream/cam").send().await.unwrap();
    let res = ann.raw(Method::GET, "/stream/cam").send().await.unwrap();
    let mut stream = res.bytes_stream();
    let mut buf = Vec::new();
    let mut seqs = Vec::new();
    for i in 0..40 {
        cradle.frame(&frame).await;
        if i % 4 == 0 {
            let (head, body) = next_part(&mut stream, &mut buf).await;
            assert_eq!(body.len(), frame.len());
            seqs.push(head);
        }
    }
    assert_eq!(seqs.len(), 10);
    // Readings keep flowing too.
    cradle
        .publish("temperature", r#"{"temperature": "36.4"}"#)
        .await;
    ann.wait_for("/api/agent_status/cam", |b| b["temperature"] == 36.4)
        .await;
    drop(stuck);
}

#[tokio::test]
async fn stream_404s_at_once_and_accepts_a_media_token() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cam").await;
    let cradle = t.cradle("cam").await;
    cradle.frame(&fixture_frame(0)).await;
    ann.wait_for("/api/agent_status/cam", |b| {
        b["last_frame_time"].is_string()
    })
    .await;

    let started = std::time::Instant::now();
    let (s, _) = ann.get("/stream/unknown-cam").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(started.elapsed() < Duration::from_secs(2));

    let (s, token) = ann.post("/api/media_token/cam", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let token = token["token"].as_str().unwrap().to_owned();
    let anonymous = t.client();
    let res = anonymous
        .raw(Method::GET, &format!("/stream/cam?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut stream = res.bytes_stream();
    let mut buf = Vec::new();
    let (_, body) = next_part(&mut stream, &mut buf).await;
    assert_eq!(body, fixture_frame(0));

    let (s, _) = anonymous
        .get("/stream/cam?token=1.99999999999999.AAAA")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The token is for that cradle only.
    let mut bob = t.user("bob").await;
    t.cradle_for(&mut bob, "cam-b").await;
    let (s, _) = anonymous.get(&format!("/stream/cam-b?token={token}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
