//! Alert sentences in the reader's language, rendered from stored facts.

use crate::alerts::engine::{AlertFacts, AlertType};
use crate::i18n::Lang;

/// `resolved_after_s`: how long after it was raised a self-resolving alert
/// ended (the cradle came back), if it did.
pub fn render(t: AlertType, f: &AlertFacts, resolved_after_s: Option<u64>, lang: Lang) -> String {
    let secs = f.duration_s.unwrap_or(0);
    let mut text = sentence(t, f, secs, lang);
    if let Some(after) = resolved_after_s.filter(|_| super::liveness::is_liveness(t)) {
        let back = match (t, lang) {
            (AlertType::CradleOffline, Lang::En) => {
                format!(" Back online {} later.", span(after, lang))
            }
            (AlertType::CradleOffline, Lang::Ko) => {
                format!(" {} 후 다시 연결되었습니다.", span(after, lang))
            }
            (AlertType::CameraSilent, Lang::En) => {
                format!(" The camera came back {} later.", span(after, lang))
            }
            (AlertType::CameraSilent, Lang::Ko) => {
                format!(" {} 후 카메라가 돌아왔습니다.", span(after, lang))
            }
            (_, Lang::En) => format!(" Readings came back {} later.", span(after, lang)),
            (_, Lang::Ko) => format!(" {} 후 측정값이 돌아왔습니다.", span(after, lang)),
        };
        text.push_str(&back);
    }
    text
}

/// "90 s", "12 min", "3 h 5 min" (Korean: "90초", "12분", "3시간 5분").
fn span(secs: u64, lang: Lang) -> String {
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match lang {
        Lang::En if secs < 120 => format!("{secs} s"),
        Lang::En if h == 0 => format!("{m} min"),
        Lang::En => format!("{h} h {m} min"),
        Lang::Ko if secs < 120 => format!("{secs}초"),
        Lang::Ko if h == 0 => format!("{m}분"),
        Lang::Ko => format!("{h}시간 {m}분"),
    }
}

fn sentence(t: AlertType, f: &AlertFacts, secs: u64, lang: Lang) -> String {
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
        (AlertType::Crying, Lang::En) => match f.soothed_minutes {
            Some(m) => format!("Rocked {m} minutes, still crying."),
            None => format!("The baby has been crying for {secs} s."),
        },
        (AlertType::Crying, Lang::Ko) => match f.soothed_minutes {
            Some(m) => format!("{m}분 동안 흔들어 주었지만 아직 울고 있습니다."),
            None => format!("아기가 {secs}초 동안 울고 있습니다."),
        },
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
        (AlertType::CradleOffline, Lang::En) => format!(
            "The cradle is offline: nothing heard from it for {}.",
            span(secs, lang)
        ),
        (AlertType::CradleOffline, Lang::Ko) => format!(
            "요람 연결이 끊겼습니다: {} 동안 응답이 없습니다.",
            span(secs, lang)
        ),
        (AlertType::CameraSilent, Lang::En) => format!(
            "The camera sent no picture for {}, though the sensors report.",
            span(secs, lang)
        ),
        (AlertType::CameraSilent, Lang::Ko) => format!(
            "센서는 동작하지만 카메라 영상이 {} 동안 없습니다.",
            span(secs, lang)
        ),
        (AlertType::SensorFault, Lang::En) => match f.unusable_temperature {
            Some(true) => format!(
                "The thermometer has sent unusable values for {}.",
                span(secs, lang)
            ),
            _ => format!(
                "No temperature for {}, though other data arrives.",
                span(secs, lang)
            ),
        },
        (AlertType::SensorFault, Lang::Ko) => match f.unusable_temperature {
            Some(true) => format!(
                "온도 센서 값이 {} 동안 올바르지 않습니다.",
                span(secs, lang)
            ),
            _ => format!(
                "다른 데이터는 오지만 {} 동안 온도 값이 없습니다.",
                span(secs, lang)
            ),
        },
    }
}

/// The title of the one reminder of an alert still unresolved (the
/// desktop app words its reminder the same way).
pub fn reminder_title(t: AlertType, lang: Lang) -> String {
    match lang {
        Lang::En => format!("Still unresolved: {}", title(t, lang)),
        Lang::Ko => format!("아직 해결되지 않음: {}", title(t, lang)),
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
        (AlertType::CradleOffline, Lang::En) => "Cradle offline",
        (AlertType::CradleOffline, Lang::Ko) => "요람 연결 끊김",
        (AlertType::CameraSilent, Lang::En) => "Camera silent",
        (AlertType::CameraSilent, Lang::Ko) => "카메라 영상 없음",
        (AlertType::SensorFault, Lang::En) => "Thermometer fault",
        (AlertType::SensorFault, Lang::Ko) => "온도 센서 이상",
    }
}
