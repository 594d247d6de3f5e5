//! Who may do what, as a pure check the web layer calls on every page and every action.
//!
//! The roles come from the 2007 design: members manage their own registration; technical
//! administrators send **tests to designated testers only**; emergency administrators also
//! send real alerts to everyone; transcript administrators manage the SMS line's
//! transcripts. An account may hold several roles. Every signed-in account can act as a
//! member for its own registration.
//!
//! Nobody may grant a role they do not hold, so a technical administrator cannot make
//! themselves (or an accomplice) an emergency administrator; the first administrator,
//! created from the command line, holds every role.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A role an account can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Registers, tests and removes their own number.
    Member,
    /// Sends tests to the designated testers; manages accounts and testers.
    TechnicalAdministrator,
    /// Everything a technical administrator does, and real alerts to everyone.
    EmergencyAdministrator,
    /// Lists, exports and deletes the SMS line's transcripts.
    TranscriptAdministrator,
    /// Sends texts to any number through the send API (and its Kannel-compatible
    /// `sendsms`): the account a library system (an ILS sending hold and overdue notices)
    /// uses, with a token whose scope is sending.
    TextSender,
}

impl Role {
    /// Every role, for tables and forms.
    pub const ALL: [Role; 5] = [
        Role::Member,
        Role::TechnicalAdministrator,
        Role::EmergencyAdministrator,
        Role::TranscriptAdministrator,
        Role::TextSender,
    ];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Member => "member",
            Self::TechnicalAdministrator => "technical administrator",
            Self::EmergencyAdministrator => "emergency administrator",
            Self::TranscriptAdministrator => "transcript administrator",
            Self::TextSender => "text sender",
        })
    }
}

/// The roles one account holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    /// An account with `roles`.
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Self {
        Self(roles.into_iter().collect())
    }

    /// Whether the account holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// The roles, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

/// Something an account wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// See, save or remove one's own number, and send oneself a (rate-limited) test.
    ManageOwnRegistration,
    /// Open the test compose form and send a test to the designated testers.
    SendTestToTesters,
    /// Open the alert compose form and send a real alert to everyone.
    SendAlertToEveryone,
    /// Attach a Clery Act yearly-test record to a test send.
    RecordYearlyTest,
    /// Watch a campaign's progress and read the send log.
    ViewSendLog,
    /// Read the audit log of administrative actions.
    ViewAuditLog,
    /// Mark or unmark members as designated testers.
    DesignateTesters,
    /// Create, disable and reset accounts (roles are granted with [`Action::GrantRole`]).
    ManageUsers,
    /// Give or take away a role.
    GrantRole(Role),
    /// List, download and delete transcripts; read the statistics.
    ManageTranscripts,
    /// Send a text to any number through a gateway (the send API) and read its status.
    SendTexts,
    /// Read the configured webhooks and their delivery log.
    ViewWebhookLog,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ManageOwnRegistration => f.write_str("manage your own alert registration"),
            Self::SendTestToTesters => f.write_str("send a test message to the testers"),
            Self::SendAlertToEveryone => f.write_str("send an emergency alert to everyone"),
            Self::RecordYearlyTest => f.write_str("record a yearly test"),
            Self::ViewSendLog => f.write_str("view the send log"),
            Self::ViewAuditLog => f.write_str("view the audit log"),
            Self::DesignateTesters => f.write_str("designate testers"),
            Self::ManageUsers => f.write_str("manage accounts"),
            Self::GrantRole(role) => write!(f, "grant or revoke the {role} role"),
            Self::ManageTranscripts => f.write_str("manage transcripts"),
            Self::SendTexts => f.write_str("send texts through the send API"),
            Self::ViewWebhookLog => f.write_str("view the webhook delivery log"),
        }
    }
}

/// A refused action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("forbidden: to {action} you need the {needs} role")]
pub struct Forbidden {
    /// What was attempted.
    pub action: Action,
    /// The (first) role that would allow it.
    pub needs: Role,
}

/// The roles that allow `action`, in the order named in a refusal.
fn allowed_roles(action: Action) -> &'static [Role] {
    use Role::*;
    match action {
        Action::ManageOwnRegistration => &[
            Member,
            TechnicalAdministrator,
            EmergencyAdministrator,
            TranscriptAdministrator,
            TextSender,
        ],
        Action::SendTestToTesters
        | Action::RecordYearlyTest
        | Action::ViewSendLog
        | Action::ViewAuditLog
        | Action::DesignateTesters
        | Action::ManageUsers
        | Action::ViewWebhookLog => &[TechnicalAdministrator, EmergencyAdministrator],
        Action::SendAlertToEveryone => &[EmergencyAdministrator],
        Action::ManageTranscripts => &[TranscriptAdministrator],
        Action::SendTexts => &[TextSender],
        Action::GrantRole(Member) => &[TechnicalAdministrator, EmergencyAdministrator],
        Action::GrantRole(TechnicalAdministrator) => &[TechnicalAdministrator],
        Action::GrantRole(EmergencyAdministrator) => &[EmergencyAdministrator],
        Action::GrantRole(TranscriptAdministrator) => &[TranscriptAdministrator],
        // A library system's account is set up by whoever manages accounts.
        Action::GrantRole(TextSender) => &[TechnicalAdministrator, EmergencyAdministrator],
    }
}

/// Whether an account holding `roles` may do `action`.
pub fn authorize(roles: &Roles, action: Action) -> Result<(), Forbidden> {
    let allowed = allowed_roles(action);
    if allowed.iter().any(|&role| roles.has(role)) {
        return Ok(());
    }
    Err(Forbidden {
        action,
        needs: allowed
            .first()
            .copied()
            .unwrap_or(Role::EmergencyAdministrator),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn all_actions() -> Vec<Action> {
        let mut actions = vec![
            Action::ManageOwnRegistration,
            Action::SendTestToTesters,
            Action::SendAlertToEveryone,
            Action::RecordYearlyTest,
            Action::ViewSendLog,
            Action::ViewAuditLog,
            Action::DesignateTesters,
            Action::ManageUsers,
        ];
        actions.extend(Role::ALL.map(Action::GrantRole));
        actions.push(Action::ManageTranscripts);
        actions.push(Action::SendTexts);
        actions.push(Action::ViewWebhookLog);
        actions
    }

    #[test]
    fn permission_matrix() {
        let accounts = [
            ("nobody", Roles::default()),
            ("member", Roles::new([Role::Member])),
            (
                "technical",
                Roles::new([Role::Member, Role::TechnicalAdministrator]),
            ),
            (
                "emergency",
                Roles::new([Role::Member, Role::EmergencyAdministrator]),
            ),
            ("transcripts", Roles::new([Role::TranscriptAdministrator])),
            ("sender", Roles::new([Role::TextSender])),
        ];
        let mut shown = format!("{:<42}", "action");
        for (name, _) in &accounts {
            shown.push_str(&format!("{name:>12}"));
        }
        shown.push('\n');
        for action in all_actions() {
            shown.push_str(&format!("{:<42}", format!("{action:?}")));
            for (_, roles) in &accounts {
                let mark = if authorize(roles, action).is_ok() {
                    "yes"
                } else {
                    "-"
                };
                shown.push_str(&format!("{mark:>12}"));
            }
            shown.push('\n');
        }
        expect![[r#"
            action                                          nobody      member   technical   emergency transcripts      sender
            ManageOwnRegistration                                -         yes         yes         yes         yes         yes
            SendTestToTesters                                    -           -         yes         yes           -           -
            SendAlertToEveryone                                  -           -           -         yes           -           -
            RecordYearlyTest                                     -           -         yes         yes           -           -
            ViewSendLog                                          -           -         yes         yes           -           -
            ViewAuditLog                                         -           -         yes         yes           -           -
            DesignateTesters                                     -           -         yes         yes           -           -
            ManageUsers                                          -           -         yes         yes           -           -
            GrantRole(Member)                                    -           -         yes         yes           -           -
            GrantRole(TechnicalAdministrator)                    -           -         yes           -           -           -
            GrantRole(EmergencyAdministrator)                    -           -           -         yes           -           -
            GrantRole(TranscriptAdministrator)                   -           -           -           -         yes           -
            GrantRole(TextSender)                                -           -         yes         yes           -           -
            ManageTranscripts                                    -           -           -           -         yes           -
            SendTexts                                            -           -           -           -           -         yes
            ViewWebhookLog                                       -           -         yes         yes           -           -
        "#]].assert_eq(&shown);
    }

    #[test]
    fn technical_administrator_cannot_alert_everyone() {
        let technical = Roles::new([Role::TechnicalAdministrator]);
        let refused = authorize(&technical, Action::SendAlertToEveryone).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "forbidden: to send an emergency alert to everyone you need the emergency administrator role"
        );
        assert!(authorize(&technical, Action::GrantRole(Role::EmergencyAdministrator)).is_err());
    }

    #[test]
    fn roles_serialise_as_a_list_of_names() {
        let roles = Roles::new([Role::EmergencyAdministrator, Role::Member]);
        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(json, r#"["member","emergency-administrator"]"#);
        assert_eq!(serde_json::from_str::<Roles>(&json).unwrap(), roles);
    }
}
