//! A minimal Server-Sent Events parser: feed it bytes as they arrive, take
//! out complete events. Enough for the hub's `/api/events` (named events
//! with one JSON `data:` line), tolerant of CRLF, comments and split chunks.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `message` when the event has no `event:` field (as in browsers).
    pub name: String,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    name: Option<String>,
    data: Vec<String>,
}

/// One event's data must fit in this; anything bigger is a broken stream.
const MAX_LINE: usize = 4 * 1024 * 1024;

#[derive(Debug)]
pub enum SseError {
    LineTooLong,
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::LineTooLong => write!(f, "event stream line longer than {MAX_LINE} bytes"),
        }
    }
}

impl std::error::Error for SseError {}

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line_bytes = &self.buf[start..end];
            let line_bytes = line_bytes.strip_suffix(b"\r").unwrap_or(line_bytes);
            let line = String::from_utf8_lossy(line_bytes).into_owned();
            start = end + 1;
            if let Some(ev) = self.line(&line) {
                events.push(ev);
            }
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE {
            self.buf.clear();
            return Err(SseError::LineTooLong);
        }
        Ok(events)
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let name = self.name.take();
            if self.data.is_empty() {
                return None;
            }
            let data = std::mem::take(&mut self.data).join("\n");
            return Some(SseEvent {
                name: name.unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        if line.starts_with(':') {
            return None; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.name = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {} // id, retry: not needed (a reconnect gets a fresh snapshot)
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_events_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.feed(b": keep-alive\n\nevent: snap").unwrap().is_empty());
        let evs = p
            .feed(b"shot\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\nevent: alert\ndata: x\ndata:y\n")
            .unwrap();
        assert_eq!(
            evs,
            vec![SseEvent {
                name: "snapshot".into(),
                data: "{\"a\":1}".into()
            }]
        );
        let evs = p.feed(b"\ndata: plain\n\n").unwrap();
        assert_eq!(
            evs,
            vec![
                SseEvent {
                    name: "alert".into(),
                    data: "x\ny".into()
                },
                SseEvent {
                    name: "message".into(),
                    data: "plain".into()
                }
            ]
        );
    }

    #[test]
    fn endless_line_is_an_error() {
        let mut p = SseParser::default();
        let big = vec![b'a'; MAX_LINE + 1];
        assert!(p.feed(&big).is_err());
    }
}
