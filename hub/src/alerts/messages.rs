//! Alert sentences in the reader's language, rendered from stored facts.

use crate::alerts::engine::{AlertFacts, AlertType};
use crate::i18n::Lang;

pub fn render(t: AlertType, f: &AlertFacts, lang: Lang) -> String {
    let secs = f.duration_s.unwrap_or(0);
    match (t, lang) {
        (AlertType::HighTemperature, Lang::En) => format!(
            "High temperature: {:.1} °C (limit {:.1} °C).",
            f.temperature.unwrap_or(f64::NAN),
            f.max_temperature.unwrap_or(f64::NAN)
        ),
        (AlertType::HighTemperature, Lang::Ko) => format!(
            "고온 경보: {:.1} °C (기준 {:.1} °C).",
            f.temperature.unwrap_or(f64::NAN),
            f.max_temperature.unwrap_or(f64::NAN)
        ),
        (AlertType::Crying, Lang::En) => format!("The baby has been crying for {secs} s."),
        (AlertType::Crying, Lang::Ko) => format!("아기가 {secs}초 동안 울고 있습니다."),
        (AlertType::AbnormalPosition, Lang::En) => {
            format!("The baby's face has not been frontal for {secs} s.")
        }
        (AlertType::AbnormalPosition, Lang::Ko) => {
            format!("아기 얼굴이 {secs}초 동안 정면이 아닙니다.")
        }
        (AlertType::FaceNotDetected, Lang::En) => {
            format!("The baby's face has not been seen for {secs} s.")
        }
        (AlertType::FaceNotDetected, Lang::Ko) => {
            format!("아기 얼굴이 {secs}초 동안 인식되지 않습니다.")
        }
    }
}

/// A short title for notifications.
pub fn title(t: AlertType, lang: Lang) -> &'static str {
    match (t, lang) {
        (AlertType::HighTemperature, Lang::En) => "High temperature",
        (AlertType::HighTemperature, Lang::Ko) => "고온",
        (AlertType::Crying, Lang::En) => "Crying",
        (AlertType::Crying, Lang::Ko) => "울음",
        (AlertType::AbnormalPosition, Lang::En) => "Face turned away",
        (AlertType::AbnormalPosition, Lang::Ko) => "얼굴 방향 이상",
        (AlertType::FaceNotDetected, Lang::En) => "Face not detected",
        (AlertType::FaceNotDetected, Lang::Ko) => "얼굴 인식 안됨",
    }
}
