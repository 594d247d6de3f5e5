//! Sample alerts shared by the integration tests.

#![allow(dead_code)] // Each test binary uses a different part.

use chrono::{DateTime, FixedOffset, TimeZone};
use textgate_cap::{
    Alert, Area, Category, Certainty, Info, MsgType, Reference, ResponseType, Scope, Severity,
    Status, Urgency,
};

pub const SENDER: &str = "alerts@example.edu";

/// 2026-12-05 at `h`:`m` in New York winter time.
pub fn at(h: u32, m: u32) -> DateTime<FixedOffset> {
    FixedOffset::west_opt(5 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 5, h, m, 0)
        .unwrap()
}

pub fn storm_info() -> Info {
    let mut info = Info::new(
        "en-US",
        Category::Met,
        "Winter storm",
        Urgency::Expected,
        Severity::Severe,
        Certainty::Likely,
    );
    info.response_types = vec![ResponseType::Shelter, ResponseType::Monitor];
    info.sender_name = Some("Example University Emergency Management".into());
    info.headline = Some("Campus closed today".into());
    info.description = Some("Heavy snow is expected from 9 a.m.".into());
    info.instruction = Some("Stay home. Check the website for updates.".into());
    info.web = Some("https://alerts.example.edu/".into());
    info.contact = Some("+1 555 0100".into());
    info.effective = Some(at(6, 0));
    info.onset = Some(at(9, 0));
    info.expires = Some(at(23, 0));
    info.areas = vec![Area::new("Main campus")];
    info
}

/// The first alert: Actual, Public.
pub fn storm() -> Alert {
    let mut alert = Alert::new("campus-2026-0041", SENDER, at(6, 0));
    alert.info.push(storm_info());
    alert
}

pub fn exercise() -> Alert {
    let mut alert = Alert::new("drill-7", SENDER, at(7, 0));
    alert.status = Status::Exercise;
    alert.note = Some("Annual evacuation drill".into());
    let mut info = storm_info();
    info.categories = vec![Category::Fire, Category::Safety];
    info.event = "Fire drill".into();
    info.response_types = vec![ResponseType::Evacuate];
    alert.info.push(info);
    alert
}

pub fn test_message() -> Alert {
    let mut alert = Alert::new("test-1", SENDER, at(7, 30));
    alert.status = Status::Test;
    let mut info = Info::new(
        "en",
        Category::Other,
        "System test",
        Urgency::Unknown,
        Severity::Unknown,
        Certainty::Unknown,
    );
    info.response_types = vec![ResponseType::None];
    alert.info.push(info);
    alert
}

pub fn update() -> Alert {
    let earlier = storm();
    let mut alert = Alert::new("campus-2026-0042", SENDER, at(10, 30));
    alert.msg_type = MsgType::Update;
    alert.references = vec![
        Reference::of(&earlier),
        Reference {
            sender: "nws@example.gov".into(),
            identifier: "NWS-123".into(),
            sent: FixedOffset::east_opt(0)
                .unwrap()
                .with_ymd_and_hms(2026, 12, 5, 4, 0, 0)
                .unwrap(),
        },
    ];
    alert.incidents = Some("storm-2026-12 closure-5".into());
    let mut info = storm_info();
    info.headline = Some("Campus stays closed tomorrow".into());
    alert.info.push(info);
    alert
}

pub fn cancel() -> Alert {
    let mut alert = Alert::new("campus-2026-0043", SENDER, at(12, 0));
    alert.msg_type = MsgType::Cancel;
    alert.note = Some("Sent in error".into());
    alert.references = vec![Reference::of(&update())];
    let mut info = storm_info();
    info.urgency = Urgency::Past;
    info.severity = Severity::Minor;
    info.response_types = vec![ResponseType::AllClear];
    alert.info.push(info);
    alert
}

pub fn restricted() -> Alert {
    let mut alert = Alert::new("staff-9", SENDER, at(8, 0));
    alert.scope = Scope::Restricted;
    alert.restriction = Some("Facilities staff only".into());
    let mut info = storm_info();
    info.categories = vec![Category::Infra];
    info.event = "Power outage".into();
    alert.info.push(info);
    alert
}

pub fn private() -> Alert {
    let mut alert = Alert::new("ops-3", SENDER, at(8, 15));
    alert.scope = Scope::Private;
    alert.addresses = vec!["ops@example.edu".into(), "Campus Police".into()];
    alert.info.push(storm_info());
    alert
}

pub const AWKWARD: &str = "Tom & Jerry's \"café\" <b>bold</b> ]]> \r\n next";

/// Every text with markup characters, non-Latin scripts and emoji; several info blocks
/// (languages) and areas; UTC times.
pub fn multilingual() -> Alert {
    let utc = FixedOffset::east_opt(0).unwrap();
    let mut alert = Alert::new(
        "intl-1",
        SENDER,
        utc.with_ymd_and_hms(2026, 12, 5, 15, 0, 0).unwrap(),
    );
    alert.note = Some(AWKWARD.into());
    let mut en = storm_info();
    en.headline = Some(AWKWARD.into());
    en.description = Some("Snow <10cm> & ice; \"stay\" 'home'".into());
    en.web = Some("https://alerts.example.edu/a?x=1&y=2".into());
    en.areas = vec![Area::new("North <campus> & dorms"), Area::new("Südcampus")];
    let mut zh = storm_info();
    zh.language = "zh-Hans".into();
    zh.event = "暴风雪".into();
    zh.headline = Some("今天校园关闭 🌨".into());
    zh.areas = vec![Area::new("主校区")];
    let mut ar = storm_info();
    ar.language = "ar".into();
    ar.event = "عاصفة ثلجية".into();
    ar.headline = Some("الحرم الجامعي مغلق اليوم".into());
    ar.categories = vec![Category::Met, Category::CBRNE, Category::Transport];
    ar.areas = vec![];
    let mut ru = storm_info();
    ru.language = "ru-RU".into();
    ru.event = "Метель".into();
    ru.expires = Some(utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap());
    alert.info = vec![en, zh, ar, ru];
    alert
}

/// Every sample, named.
pub fn samples() -> Vec<(&'static str, Alert)> {
    vec![
        ("actual-alert", storm()),
        ("exercise", exercise()),
        ("test", test_message()),
        ("update", update()),
        ("cancel", cancel()),
        ("restricted", restricted()),
        ("private", private()),
        ("multilingual", multilingual()),
    ]
}
