//! Human-readable messages in English and Korean. Handlers and errors name a
//! [`Msg`]; the language is chosen per request from `Accept-Language`.

use std::convert::Infallible;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    /// Picks the first supported language of an `Accept-Language` header,
    /// honouring q-values; `None` when nothing supported is listed.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ko") => Lang::Ko,
                Some("en") => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

/// The default language, as configured, reachable from the router state.
#[derive(Debug, Clone, Copy)]
pub struct DefaultLang(pub Lang);

impl<S> FromRequestParts<S> for Lang
where
    S: Send + Sync,
    DefaultLang: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(request_lang(parts, DefaultLang::from_ref(state).0))
    }
}

pub fn request_lang(parts: &Parts, default: Lang) -> Lang {
    parts
        .headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(default)
}

/// Every sentence the API sends to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Registered,
    LoggedIn,
    LoggedOut,
    AgentRegistered,
    CradleClaimed,
    CradleSelected,
    CradleDeleted,
    MissingField(&'static str),
    InvalidField(&'static str),
    BadJson,
    UsernameTaken,
    UsernameInvalid,
    PasswordTooShort,
    WrongCredentials,
    TooManyAttempts,
    NotLoggedIn,
    CradleNotFound,
    CradleOwnedByOther,
    UnknownCradle,
    BadAction,
    MotorUnavailable,
    CradleNotConnected,
    TooManyMotorCommands,
    MotorRestartTooSoon,
    MqttPasswordOn,
    MqttPasswordOff,
    BadDate,
    NoRecording,
    NoQrCode,
    NotAnImage,
    ImageTooLarge,
    NotFound,
    Busy,
    Internal,
    /// A history range holding more readings than one answer may carry.
    RangeTooLarge(usize),
    TooManyRegistrations,
    DiskFull,
    EmptyBody,
    UnsupportedContentType,
    CrossSiteRequest,
    TooManySignups,
    TooManyLookups,
    HashingBusy,
    SessionNotFound,
    SessionEnded,
    OtherSessionsEnded(usize),
    PasswordChanged,
    WrongPassword,
    /// A request the router or an extractor refused before any handler ran.
    MalformedRequest,
    BodyTooLarge,
    MethodNotAllowed,
    // A member's email address for alert emails.
    InvalidEmail,
    EmailSaved,
    EmailRemoved,
    // The household (invites, members, roles).
    RoleForbids(crate::household::Need),
    WrongInviteCode,
    TooManyWrongCodes,
    AlreadyMember,
    JoinedCradle,
    OwnerCannotLeave,
    OnlyOwnerRemovesOthers,
    MemberNotFound,
    TransferToMembersOnly,
    // The notification inbox and a member's notify switches.
    BadLimit(usize),
    UnknownAlertType,
    TimeRangeReversed,
    BadSyncCursor,
    SyncCursorAhead,
    SyncCursorTooOld,
    NotificationNotFound,
    NotifyPrefsEmpty,
    // Web Push subscriptions (the SSRF guard on endpoints).
    PushEndpointNotHttps,
    PushEndpointNotPublic,
    PushEndpointPort,
}

impl Msg {
    pub fn text(self, lang: Lang) -> String {
        use Msg::*;
        let s: &str = match (self, lang) {
            (Registered, Lang::En) => "Account created. You can log in now.",
            (Registered, Lang::Ko) => "계정이 만들어졌습니다. 이제 로그인할 수 있습니다.",
            (LoggedIn, Lang::En) => "Logged in.",
            (LoggedIn, Lang::Ko) => "로그인되었습니다.",
            (LoggedOut, Lang::En) => "Logged out.",
            (LoggedOut, Lang::Ko) => "로그아웃되었습니다.",
            (AgentRegistered, Lang::En) => "Cradle registered with the hub.",
            (AgentRegistered, Lang::Ko) => "요람이 허브에 등록되었습니다.",
            (CradleClaimed, Lang::En) => "Cradle added to your account.",
            (CradleClaimed, Lang::Ko) => "요람이 계정에 추가되었습니다.",
            (CradleSelected, Lang::En) => "Cradle selected.",
            (CradleSelected, Lang::Ko) => "요람을 선택했습니다.",
            (CradleDeleted, Lang::En) => "Cradle removed with all its data.",
            (CradleDeleted, Lang::Ko) => "요람과 모든 데이터가 삭제되었습니다.",
            (MissingField(f), Lang::En) => return format!("The field \"{f}\" is required."),
            (MissingField(f), Lang::Ko) => return format!("\"{f}\" 항목이 필요합니다."),
            (InvalidField(f), Lang::En) => {
                return format!("The field \"{f}\" has an invalid value.");
            }
            (InvalidField(f), Lang::Ko) => {
                return format!("\"{f}\" 항목의 값이 올바르지 않습니다.");
            }
            (BadJson, Lang::En) => "The request body is not valid JSON.",
            (BadJson, Lang::Ko) => "요청 본문이 올바른 JSON이 아닙니다.",
            (UsernameTaken, Lang::En) => "This username is already taken.",
            (UsernameTaken, Lang::Ko) => "이미 사용 중인 사용자 이름입니다.",
            (UsernameInvalid, Lang::En) => {
                "Usernames are 1 to 64 characters without spaces at the ends."
            }
            (UsernameInvalid, Lang::Ko) => "사용자 이름은 1~64자이며 앞뒤에 공백이 없어야 합니다.",
            (PasswordTooShort, Lang::En) => "Passwords need at least 4 characters.",
            (PasswordTooShort, Lang::Ko) => "비밀번호는 4자 이상이어야 합니다.",
            (WrongCredentials, Lang::En) => "Wrong username or password.",
            (WrongCredentials, Lang::Ko) => "사용자 이름 또는 비밀번호가 틀렸습니다.",
            (TooManyAttempts, Lang::En) => "Too many failed logins. Please wait and try again.",
            (TooManyAttempts, Lang::Ko) => "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요.",
            (NotLoggedIn, Lang::En) => "Please log in.",
            (NotLoggedIn, Lang::Ko) => "로그인하세요.",
            (CradleNotFound, Lang::En) => "No such cradle in your account.",
            (CradleNotFound, Lang::Ko) => "계정에 해당 요람이 없습니다.",
            (CradleOwnedByOther, Lang::En) => {
                "This cradle already belongs to another account. Ask its owner to remove it first."
            }
            (CradleOwnedByOther, Lang::Ko) => {
                "이 요람은 이미 다른 계정에 등록되어 있습니다. 먼저 소유자에게 삭제를 요청하세요."
            }
            (UnknownCradle, Lang::En) => {
                "The hub has never heard from this cradle. Check that it is switched on and connected."
            }
            (UnknownCradle, Lang::Ko) => {
                "허브가 이 요람의 신호를 받은 적이 없습니다. 요람이 켜져 있고 연결되어 있는지 확인하세요."
            }
            (BadAction, Lang::En) => "The action must be \"start\" or \"stop\".",
            (BadAction, Lang::Ko) => "동작은 \"start\" 또는 \"stop\"이어야 합니다.",
            (MotorUnavailable, Lang::En) => {
                "The command could not be sent: the hub is not connected to the cradles' broker."
            }
            (MotorUnavailable, Lang::Ko) => {
                "명령을 보낼 수 없습니다. 허브가 요람 브로커에 연결되어 있지 않습니다."
            }
            (CradleNotConnected, Lang::En) => {
                "The cradle is not connected to the hub right now, so the command was not sent. Check its power and Wi-Fi."
            }
            (CradleNotConnected, Lang::Ko) => {
                "요람이 지금 허브에 연결되어 있지 않아 명령을 보내지 못했습니다. 요람의 전원과 Wi-Fi를 확인하세요."
            }
            (TooManyMotorCommands, Lang::En) => {
                "Too many motor commands for this cradle in the last minute. Please wait a moment."
            }
            (TooManyMotorCommands, Lang::Ko) => {
                "최근 1분 동안 이 요람에 보낸 모터 명령이 너무 많습니다. 잠시 후 다시 시도하세요."
            }
            (MotorRestartTooSoon, Lang::En) => {
                "The motor just stopped. Wait two seconds before starting it again."
            }
            (MotorRestartTooSoon, Lang::Ko) => "모터가 방금 멈췄습니다. 2초 후에 다시 시작하세요.",
            (MqttPasswordOn, Lang::En) => {
                "The cradle now needs this password to connect. It is shown only once: enter it in the cradle's settings now."
            }
            (MqttPasswordOn, Lang::Ko) => {
                "이제 요람이 연결하려면 이 비밀번호가 필요합니다. 한 번만 표시되니 지금 요람 설정에 입력하세요."
            }
            (MqttPasswordOff, Lang::En) => "The cradle can connect without a password again.",
            (MqttPasswordOff, Lang::Ko) => "요람이 다시 비밀번호 없이 연결할 수 있습니다.",
            (BadDate, Lang::En) => "Dates must look like 2026-11-22T20:56:17Z.",
            (BadDate, Lang::Ko) => "날짜는 2026-11-22T20:56:17Z 형식이어야 합니다.",
            (NoQrCode, Lang::En) => {
                "No QR code found. Hold the code closer, in good light, and try again."
            }
            (NoQrCode, Lang::Ko) => {
                "QR 코드를 찾지 못했습니다. 밝은 곳에서 코드를 더 가까이 대고 다시 시도하세요."
            }
            (NotAnImage, Lang::En) => "That file is not a JPEG or PNG picture.",
            (NotAnImage, Lang::Ko) => "JPEG 또는 PNG 사진이 아닙니다.",
            (ImageTooLarge, Lang::En) => "The picture is too large.",
            (ImageTooLarge, Lang::Ko) => "사진이 너무 큽니다.",
            (NoRecording, Lang::En) => "Nothing was recorded there.",
            (NoRecording, Lang::Ko) => "녹화된 영상이 없습니다.",
            (NotFound, Lang::En) => "Not found.",
            (NotFound, Lang::Ko) => "찾을 수 없습니다.",
            (Busy, Lang::En) => "The hub is busy. Please try again in a moment.",
            (Busy, Lang::Ko) => "허브가 바쁩니다. 잠시 후 다시 시도하세요.",
            (Internal, Lang::En) => "Something went wrong in the hub. It has been logged.",
            (Internal, Lang::Ko) => "허브에 문제가 발생했습니다. 기록되었습니다.",
            (RangeTooLarge(max), Lang::En) => {
                return format!(
                    "This range holds more than {max} readings. Ask for a shorter range (an hour or a day)."
                );
            }
            (RangeTooLarge(max), Lang::Ko) => {
                return format!(
                    "이 기간의 측정값이 {max}개를 넘습니다. 더 짧은 기간(한 시간 또는 하루)을 요청하세요."
                );
            }
            (TooManyRegistrations, Lang::En) => {
                "Too many cradle registrations from this address. Please wait and try again."
            }
            (TooManyRegistrations, Lang::Ko) => {
                "이 주소에서 요람 등록 요청이 너무 많습니다. 잠시 후 다시 시도하세요."
            }
            (DiskFull, Lang::En) => "The hub's disk is full: this change could not be saved.",
            (DiskFull, Lang::Ko) => {
                "허브의 디스크가 가득 찼습니다. 변경 내용을 저장하지 못했습니다."
            }
            (EmptyBody, Lang::En) => "The request needs a JSON object body; it was empty.",
            (EmptyBody, Lang::Ko) => "요청 본문에 JSON 객체가 필요한데 비어 있습니다.",
            (UnsupportedContentType, Lang::En) => {
                "Send this request as JSON (Content-Type: application/json)."
            }
            (UnsupportedContentType, Lang::Ko) => {
                "이 요청은 JSON으로 보내야 합니다 (Content-Type: application/json)."
            }
            (CrossSiteRequest, Lang::En) => {
                "This request came from another website and was refused. Open the hub's own page instead."
            }
            (CrossSiteRequest, Lang::Ko) => {
                "다른 웹사이트에서 온 요청이라 거부했습니다. 허브의 페이지에서 직접 하세요."
            }
            (TooManySignups, Lang::En) => {
                "Too many accounts created from this address. Please wait and try again."
            }
            (TooManySignups, Lang::Ko) => {
                "이 주소에서 만든 계정이 너무 많습니다. 잠시 후 다시 시도하세요."
            }
            (TooManyLookups, Lang::En) => "Too many requests. Please wait and try again.",
            (TooManyLookups, Lang::Ko) => "요청이 너무 많습니다. 잠시 후 다시 시도하세요.",
            (HashingBusy, Lang::En) => {
                "The hub is checking many passwords right now. Please try again in a moment."
            }
            (HashingBusy, Lang::Ko) => {
                "허브가 지금 많은 비밀번호를 확인하고 있습니다. 잠시 후 다시 시도하세요."
            }
            (SessionNotFound, Lang::En) => "That sign-in no longer exists.",
            (SessionNotFound, Lang::Ko) => "해당 로그인 기록이 더 이상 없습니다.",
            (SessionEnded, Lang::En) => "That device has been signed out.",
            (SessionEnded, Lang::Ko) => "해당 기기를 로그아웃했습니다.",
            (OtherSessionsEnded(n), Lang::En) => {
                return format!("Signed out of {n} other device(s).");
            }
            (OtherSessionsEnded(n), Lang::Ko) => {
                return format!("다른 기기 {n}대에서 로그아웃했습니다.");
            }
            (PasswordChanged, Lang::En) => {
                "Password changed. Your other devices have been signed out."
            }
            (PasswordChanged, Lang::Ko) => "비밀번호를 바꿨습니다. 다른 기기는 로그아웃되었습니다.",
            (WrongPassword, Lang::En) => "The current password is not correct.",
            (WrongPassword, Lang::Ko) => "현재 비밀번호가 올바르지 않습니다.",
            (MalformedRequest, Lang::En) => {
                "The request is not valid: check its address, query and body."
            }
            (MalformedRequest, Lang::Ko) => {
                "요청이 올바르지 않습니다. 주소, 쿼리, 본문을 확인하세요."
            }
            (BodyTooLarge, Lang::En) => "The request body is too large.",
            (BodyTooLarge, Lang::Ko) => "요청 본문이 너무 큽니다.",
            (MethodNotAllowed, Lang::En) => "This address does not accept that method.",
            (MethodNotAllowed, Lang::Ko) => "이 주소는 그 요청 방식을 받지 않습니다.",
            (InvalidEmail, Lang::En) => {
                "That is not an email address. Write it like name@example.com, or leave it empty to remove it."
            }
            (InvalidEmail, Lang::Ko) => {
                "올바른 이메일 주소가 아닙니다. name@example.com 형식으로 쓰거나, 지우려면 비워 두세요."
            }
            (EmailSaved, Lang::En) => "Email address saved.",
            (EmailSaved, Lang::Ko) => "이메일 주소를 저장했습니다.",
            (EmailRemoved, Lang::En) => "Email address removed.",
            (EmailRemoved, Lang::Ko) => "이메일 주소를 지웠습니다.",
            (RoleForbids(crate::household::Need::Own), Lang::En) => {
                "Only the cradle's owner can do this."
            }
            (RoleForbids(crate::household::Need::Own), Lang::Ko) => "요람 소유자만 할 수 있습니다.",
            (RoleForbids(_), Lang::En) => {
                "Viewers can watch and see alerts, but only the owner or a parent can do this."
            }
            (RoleForbids(_), Lang::Ko) => {
                "보기 전용 구성원은 영상과 알림만 볼 수 있습니다. 소유자나 부모만 할 수 있습니다."
            }
            (WrongInviteCode, Lang::En) => {
                "That code does not work: it may be mistyped, used, revoked or older than 10 minutes. Ask for a new one."
            }
            (WrongInviteCode, Lang::Ko) => {
                "사용할 수 없는 코드입니다. 잘못 입력했거나, 이미 사용되었거나, 취소되었거나, 10분이 지났을 수 있습니다. 새 코드를 요청하세요."
            }
            (TooManyWrongCodes, Lang::En) => {
                "Too many wrong codes. Please wait a few minutes and try again."
            }
            (TooManyWrongCodes, Lang::Ko) => {
                "잘못된 코드를 너무 많이 입력했습니다. 몇 분 후 다시 시도하세요."
            }
            (AlreadyMember, Lang::En) => "You already have this cradle in your account.",
            (AlreadyMember, Lang::Ko) => "이미 계정에 있는 요람입니다.",
            (JoinedCradle, Lang::En) => "You joined the cradle.",
            (JoinedCradle, Lang::Ko) => "요람에 참여했습니다.",
            (OwnerCannotLeave, Lang::En) => {
                "The owner cannot leave the cradle. Hand ownership to another member first, or remove the cradle."
            }
            (OwnerCannotLeave, Lang::Ko) => {
                "소유자는 요람에서 나갈 수 없습니다. 먼저 다른 구성원에게 소유권을 넘기거나 요람을 삭제하세요."
            }
            (OnlyOwnerRemovesOthers, Lang::En) => {
                "Only the cradle's owner can remove other members."
            }
            (OnlyOwnerRemovesOthers, Lang::Ko) => "다른 구성원은 요람 소유자만 내보낼 수 있습니다.",
            (MemberNotFound, Lang::En) => "This person is not a member of the cradle.",
            (MemberNotFound, Lang::Ko) => "이 사람은 요람의 구성원이 아닙니다.",
            (TransferToMembersOnly, Lang::En) => {
                "Ownership can only go to someone who already joined the cradle."
            }
            (TransferToMembersOnly, Lang::Ko) => {
                "소유권은 이미 요람에 참여한 사람에게만 넘길 수 있습니다."
            }
            (BadLimit(max), Lang::En) => {
                return format!("\"limit\" must be a whole number from 1 to {max}.");
            }
            (BadLimit(max), Lang::Ko) => {
                return format!("\"limit\"은 1부터 {max}까지의 정수여야 합니다.");
            }
            (UnknownAlertType, Lang::En) => {
                "Unknown alert type. The types are high_temperature, crying, abnormal_position, face_not_detected, cradle_offline, camera_silent and sensor_fault."
            }
            (UnknownAlertType, Lang::Ko) => {
                "알 수 없는 알림 유형입니다. 유형은 high_temperature, crying, abnormal_position, face_not_detected, cradle_offline, camera_silent, sensor_fault입니다."
            }
            (TimeRangeReversed, Lang::En) => "\"from\" must not be later than \"to\".",
            (TimeRangeReversed, Lang::Ko) => "\"from\"은 \"to\"보다 늦을 수 없습니다.",
            (BadSyncCursor, Lang::En) => {
                "\"since\" must be the cursor of an earlier answer (a whole number); leave it out to start over."
            }
            (BadSyncCursor, Lang::Ko) => {
                "\"since\"는 이전 응답의 cursor 값(정수)이어야 합니다. 처음부터 받으려면 빼고 보내세요."
            }
            (SyncCursorAhead, Lang::En) => {
                "This cursor is newer than anything on this hub (was its data restored or reset?). Start over without \"since\"."
            }
            (SyncCursorTooOld, Lang::En) => {
                "This cursor is older than the deletions this hub still remembers. Start over without \"since\"."
            }
            (SyncCursorTooOld, Lang::Ko) => {
                "이 cursor는 허브가 기억하는 삭제 기록보다 오래되었습니다. \"since\" 없이 처음부터 다시 받으세요."
            }
            (SyncCursorAhead, Lang::Ko) => {
                "이 cursor는 허브의 어떤 기록보다 새롭습니다(허브 데이터가 복원되거나 초기화되었나요?). \"since\" 없이 처음부터 다시 받으세요."
            }
            (NotificationNotFound, Lang::En) => "No such notification in your inbox.",
            (NotificationNotFound, Lang::Ko) => "받은 알림함에 그런 알림이 없습니다.",
            (NotifyPrefsEmpty, Lang::En) => "Send \"push\" and/or \"email\" as true or false.",
            (NotifyPrefsEmpty, Lang::Ko) => "\"push\"나 \"email\"을 true 또는 false로 보내세요.",
            (PushEndpointNotHttps, Lang::En) => {
                "The push endpoint must be an https:// address of a push service."
            }
            (PushEndpointNotHttps, Lang::Ko) => {
                "푸시 엔드포인트는 푸시 서비스의 https:// 주소여야 합니다."
            }
            (PushEndpointNotPublic, Lang::En) => {
                "The push endpoint must be a push service on the internet, named by a public host name: not an IP address, localhost or a local network name."
            }
            (PushEndpointNotPublic, Lang::Ko) => {
                "푸시 엔드포인트는 공개 호스트 이름을 가진 인터넷의 푸시 서비스여야 합니다. IP 주소, localhost, 로컬 네트워크 이름은 쓸 수 없습니다."
            }
            (PushEndpointPort, Lang::En) => {
                "The push endpoint must use the standard HTTPS port (443)."
            }
            (PushEndpointPort, Lang::Ko) => "푸시 엔드포인트는 표준 HTTPS 포트(443)를 써야 합니다.",
        };
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("ko-KR,ko;q=0.9,en;q=0.8"),
            Some(Lang::Ko)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, ko;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_accept_language("ko;q=0"), None);
    }
}
