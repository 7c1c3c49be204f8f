//! Which frames to store for which alert: a ring buffer of the last seconds
//! per cradle (pre-roll) and the recordings still running (post-roll).
//! Plain state over frames and times; the caller writes what it returns.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::live::LiveFrame;
use crate::timefmt::Millis;

use super::RecordingWindow;

pub struct RingFrame {
    pub id: i64,
    pub ts: Millis,
    pub jpeg: Bytes,
    stored: bool,
}

/// The newest second is kept at full rate; older pre-roll frames are
/// thinned to one a second. That keeps ~19 instead of 100 frames per cradle
/// (~1 MB instead of ~5 MB of 40-60 KB JPEGs): the pre-roll is the hub's
/// largest memory cost per cradle, and a second-by-second lead-up still
/// shows what happened before an alert.
const FULL_RATE_MS: Millis = 1_000;
const THIN_INTERVAL_MS: Millis = 1_000;

#[derive(Default)]
struct CradleRecorder {
    /// The last `FULL_RATE_MS`, every frame.
    recent: VecDeque<RingFrame>,
    /// Older pre-roll, thinned (frames already stored are always kept).
    older: VecDeque<RingFrame>,
    /// (alert id, record until)
    running: Vec<(i64, Millis)>,
}

impl CradleRecorder {
    fn push(&mut self, frame: RingFrame, before_ms: Millis) {
        let now = frame.ts;
        self.recent.push_back(frame);
        while self
            .recent
            .front()
            .is_some_and(|f| f.ts < now - FULL_RATE_MS)
        {
            let Some(f) = self.recent.pop_front() else {
                break;
            };
            let keep = f.stored
                || self
                    .older
                    .back()
                    .is_none_or(|last| f.ts - last.ts >= THIN_INTERVAL_MS);
            if keep {
                self.older.push_back(f);
            }
        }
        while self.older.front().is_some_and(|f| f.ts < now - before_ms) {
            self.older.pop_front();
        }
    }

    fn frames_mut(&mut self) -> impl Iterator<Item = &mut RingFrame> {
        self.older.iter_mut().chain(self.recent.iter_mut())
    }
}

/// Frames to insert (each once) and links to create.
pub struct StoreWork {
    pub uuid: String,
    pub frames: Vec<FrameToStore>,
    pub links: Vec<(i64, i64)>,
}

pub struct FrameToStore {
    pub id: i64,
    pub ts: Millis,
    /// The cradle's JPEG, shared with the live view (no copy).
    pub jpeg: Bytes,
}

pub struct Recorder {
    window: RecordingWindow,
    next_frame_id: i64,
    cradles: HashMap<String, CradleRecorder>,
}

impl Recorder {
    pub fn new(window: RecordingWindow, first_frame_id: i64) -> Recorder {
        Recorder {
            window,
            next_frame_id: first_frame_id,
            cradles: HashMap::new(),
        }
    }

    pub fn on_frame(&mut self, uuid: &str, frame: &LiveFrame) -> Option<StoreWork> {
        let id = self.next_frame_id;
        self.next_frame_id += 1;
        let window = self.window;
        // Called ten times a second per cradle: no key allocation once known.
        if !self.cradles.contains_key(uuid) {
            self.cradles
                .insert(uuid.to_owned(), CradleRecorder::default());
        }
        let c = self.cradles.get_mut(uuid)?;
        let ts = frame.received_at;
        c.running.retain(|(_, until)| ts <= *until);
        let recording = !c.running.is_empty();
        c.push(
            RingFrame {
                id,
                ts,
                jpeg: frame.jpeg.clone(),
                stored: recording,
            },
            window.before_ms,
        );
        if !recording {
            return None;
        }
        Some(StoreWork {
            uuid: uuid.to_owned(),
            frames: vec![FrameToStore {
                id,
                ts,
                jpeg: frame.jpeg.clone(),
            }],
            links: c.running.iter().map(|(alert, _)| (*alert, id)).collect(),
        })
    }

    /// An alert fired at `at`: store the pre-roll (frames not stored yet)
    /// and link every pre-roll frame to it; later frames follow in `on_frame`.
    pub fn start(&mut self, uuid: &str, alert_id: i64, at: Millis) -> Option<StoreWork> {
        let window = self.window;
        let c = self.cradles.entry(uuid.to_owned()).or_default();
        c.running.push((alert_id, at + window.after_ms));
        let mut work = StoreWork {
            uuid: uuid.to_owned(),
            frames: Vec::new(),
            links: Vec::new(),
        };
        for f in c
            .frames_mut()
            .filter(|f| f.ts >= at - window.before_ms && f.ts <= at)
        {
            if !f.stored {
                f.stored = true;
                work.frames.push(FrameToStore {
                    id: f.id,
                    ts: f.ts,
                    jpeg: f.jpeg.clone(),
                });
            }
            work.links.push((alert_id, f.id));
        }
        (!work.links.is_empty()).then_some(work)
    }

    /// Stops recording for one alert (it could not be stored).
    pub fn stop(&mut self, uuid: &str, alert_id: i64) {
        if let Some(c) = self.cradles.get_mut(uuid) {
            c.running.retain(|(id, _)| *id != alert_id);
        }
    }

    pub fn forget(&mut self, uuid: &str) {
        self.cradles.remove(uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: Millis) -> LiveFrame {
        LiveFrame {
            jpeg: Bytes::from_static(b"\xff\xd8\xff\xd9"),
            seq: ts as u64,
            received_at: ts,
        }
    }

    const W: RecordingWindow = RecordingWindow {
        before_ms: 10_000,
        after_ms: 60_000,
    };

    #[test]
    fn pre_roll_then_post_roll_then_stop() {
        let mut r = Recorder::new(W, 1);
        for ts in (0..=20_000).step_by(1000) {
            assert!(
                r.on_frame("a", &frame(ts)).is_none(),
                "nothing stored without an alert"
            );
        }
        let work = r.start("a", 100, 20_000).unwrap();
        let stored: Vec<Millis> = work.frames.iter().map(|f| f.ts).collect();
        assert_eq!(
            stored,
            (10_000..=20_000).step_by(1000).collect::<Vec<_>>(),
            "10 s of pre-roll"
        );
        assert_eq!(work.links.len(), 11);
        let during = r.on_frame("a", &frame(80_000)).unwrap();
        assert_eq!(during.links, vec![(100, during.frames[0].id)]);
        assert!(
            r.on_frame("a", &frame(80_001)).is_none(),
            "60 s after the alert it stops"
        );
    }

    #[test]
    fn overlapping_alerts_share_frames_without_storing_twice() {
        let mut r = Recorder::new(W, 1);
        for ts in (0..=10_000).step_by(1000) {
            r.on_frame("a", &frame(ts));
        }
        let first = r.start("a", 1, 10_000).unwrap();
        assert_eq!(first.frames.len(), 11);
        for ts in (11_000..=15_000).step_by(1000) {
            r.on_frame("a", &frame(ts));
        }
        let second = r.start("a", 2, 15_000).unwrap();
        assert!(
            second.frames.is_empty(),
            "all pre-roll frames were already stored"
        );
        assert_eq!(
            second.links.len(),
            11,
            "but the second alert gets its whole window"
        );
        let both = r.on_frame("a", &frame(16_000)).unwrap();
        assert_eq!(both.frames.len(), 1);
        assert_eq!(both.links.len(), 2);
        // The first ends at 70 s, the second at 75 s.
        assert_eq!(r.on_frame("a", &frame(72_000)).unwrap().links.len(), 1);
    }

    #[test]
    fn cradles_are_separate() {
        let mut r = Recorder::new(W, 1);
        r.on_frame("a", &frame(0));
        assert!(r.start("b", 1, 0).is_none());
        assert!(r.on_frame("a", &frame(1)).is_none());
    }
}
