//! The rules of CAP 1.2 the schema cannot express: `Alert::validate` and its messages.

use chrono::{DateTime, FixedOffset, TimeZone};
use textgate_cap::{
    Alert, Area, Category, Certainty, Info, MsgType, Reference, Scope, Severity, Urgency,
    ValidationError,
};

fn sent() -> DateTime<FixedOffset> {
    FixedOffset::west_opt(5 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 5, 10, 30, 0)
        .unwrap()
}

fn good() -> Alert {
    let mut alert = Alert::new("campus-42", "alerts@example.edu", sent());
    let mut info = Info::new(
        "en-US",
        Category::Met,
        "Winter storm",
        Urgency::Expected,
        Severity::Severe,
        Certainty::Likely,
    );
    info.areas.push(Area::new("Main campus"));
    alert.info.push(info);
    alert
}

#[test]
fn a_good_alert_passes() {
    assert_eq!(good().validate(), Ok(()));
    let mut no_areas = good();
    no_areas.info[0].areas.clear();
    assert_eq!(
        no_areas.validate(),
        Ok(()),
        "CAP allows an info block without areas"
    );
}

#[test]
fn identifiers_and_senders() {
    for bad in ["a b", "a,b", "a<b", "a&b", "a\tb"] {
        let mut alert = good();
        alert.identifier = bad.into();
        assert!(
            matches!(
                alert.validate(),
                Err(ValidationError::ForbiddenCharacter { .. })
            ),
            "{bad:?}"
        );
    }
    let mut alert = good();
    alert.sender = "Campus Police".into();
    let err = alert.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the sender \"Campus Police\" contains a space, comma, '<' or '&', which CAP 1.2 \
         does not allow in identifiers and senders"
    );
    alert.sender.clear();
    assert_eq!(
        alert.validate().unwrap_err().to_string(),
        "the sender is empty, but CAP requires a value"
    );
}

#[test]
fn restriction_iff_restricted() {
    let mut alert = good();
    alert.scope = Scope::Restricted;
    assert_eq!(alert.validate(), Err(ValidationError::RestrictionMissing));
    alert.restriction = Some("Staff only".into());
    assert_eq!(alert.validate(), Ok(()));
    alert.scope = Scope::Public;
    assert_eq!(
        alert.validate().unwrap_err().to_string(),
        "a restriction is only allowed when the scope is Restricted, and the scope is Public"
    );
}

#[test]
fn private_needs_addresses() {
    let mut alert = good();
    alert.scope = Scope::Private;
    assert_eq!(alert.validate(), Err(ValidationError::AddressesMissing));
    alert.addresses = vec!["ops@example.edu".into()];
    assert_eq!(alert.validate(), Ok(()));
    alert.addresses.push("say \"hi\"".into());
    assert!(matches!(
        alert.validate(),
        Err(ValidationError::BadAddress { .. })
    ));
}

#[test]
fn update_and_cancel_need_references() {
    for msg_type in [MsgType::Update, MsgType::Cancel] {
        let mut alert = good();
        alert.msg_type = msg_type;
        assert_eq!(
            alert.validate().unwrap_err().to_string(),
            format!("a {msg_type} message must reference at least one earlier message")
        );
        alert.references.push(Reference::of(&good()));
        assert_eq!(alert.validate(), Ok(()));
        alert.references[0].identifier = "x y".into();
        assert!(matches!(
            alert.validate(),
            Err(ValidationError::ForbiddenCharacter { field, .. }) if field == "identifier of reference 1"
        ));
    }
}

#[test]
fn info_rules() {
    let mut alert = good();
    alert.info[0].categories.clear();
    assert_eq!(
        alert.validate().unwrap_err().to_string(),
        "info block 1 has no category, but CAP requires at least one"
    );
    let mut alert = good();
    alert.info[0].language = "en_US".into();
    assert!(matches!(
        alert.validate(),
        Err(ValidationError::BadLanguage { .. })
    ));
}

#[test]
fn times_and_control_characters() {
    let mut alert = good();
    alert.info[0].expires = Some(
        FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(10000, 1, 1, 0, 0, 0)
            .unwrap(),
    );
    assert_eq!(
        alert.validate().unwrap_err().to_string(),
        "the expires of info block 1 time cannot be written in CAP: the year must have four \
         digits (0000 to 9999)"
    );
    let mut alert = good();
    alert.info[0].description = Some("ring\u{7}".into());
    assert_eq!(
        alert.validate().unwrap_err().to_string(),
        "the description of info block 1 contains a control character that XML cannot carry"
    );
}

#[test]
fn problems_lists_everything() {
    let mut alert = good();
    alert.identifier = "a b".into();
    alert.msg_type = MsgType::Cancel;
    alert.info[0].categories.clear();
    assert_eq!(alert.problems().len(), 3);
}
