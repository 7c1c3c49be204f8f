//! Typed cradle readings, independent of MQTT and HTTP.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Crying {
    #[serde(rename = "Crying")]
    Crying,
    #[serde(rename = "Not Crying")]
    NotCrying,
}

impl Crying {
    /// Anything other than exactly "Crying" means not crying (PROTOCOL.md).
    pub fn from_device(status: &str) -> Crying {
        if status == "Crying" {
            Crying::Crying
        } else {
            Crying::NotCrying
        }
    }
    pub fn from_api(s: &str) -> Crying {
        Crying::from_device(s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Crying::Crying => "Crying",
            Crying::NotCrying => "Not Crying",
        }
    }
}

/// What the face-direction detector reported. The device's Korean string is
/// kept verbatim because the API returns it as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direction {
    raw: String,
    kind: DirectionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionKind {
    Frontal,
    Left,
    Right,
    NoFace,
    DetectorError,
    Checking,
    /// A string this hub does not know (newer firmware): not frontal.
    Other,
}

impl Direction {
    pub fn from_device(raw: &str) -> Direction {
        let kind = match raw.trim() {
            "정면 유지 중" => DirectionKind::Frontal,
            "좌측으로 움직임" => DirectionKind::Left,
            "우측으로 움직임" => DirectionKind::Right,
            "인식 안됨" => DirectionKind::NoFace,
            "인식 오류" => DirectionKind::DetectorError,
            "확인 중..." => DirectionKind::Checking,
            _ => DirectionKind::Other,
        };
        Direction {
            raw: raw.to_owned(),
            kind,
        }
    }
    pub fn raw(&self) -> &str {
        &self.raw
    }
    pub fn kind(&self) -> DirectionKind {
        self.kind
    }
    pub fn is_frontal(&self) -> bool {
        self.kind == DirectionKind::Frontal
    }
    /// `인식 안됨` and `인식 오류` both mean the face is not seen.
    pub fn is_face_missing(&self) -> bool {
        matches!(
            self.kind,
            DirectionKind::NoFace | DirectionKind::DetectorError
        )
    }
}

/// A sensor reading as stored and as fed to the alert rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Temperature(f64),
    Crying {
        crying: Crying,
        probability: Option<f64>,
    },
    Direction(Direction),
}
