//! The administrators' alert desks: the admin home, compose → confirm → send for tests to
//! the testers and for real alerts to everyone (separate URLs, forms and roles), a
//! campaign's progress page, and the logs page. Campaigns, their audit records and the
//! logs are the alert service's ([`textgate_alert_service::campaigns`]).
//!
//! One file per step of an alert, as an administrator meets them: [`home`] (the desk's
//! front page, its scheduled tests and the alerts awaiting a second administrator),
//! [`compose`] (the form, its templates and threads), [`confirm`] (the preview and the
//! send), [`progress`] (a campaign as it goes out, its approval and its poll) and [`logs`].
//! The two desks themselves are here, since every step is written once for both.

mod compose;
mod confirm;
mod home;
mod logs;
mod progress;

use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::Account;

use crate::request::{AlertDesk, Guard, TestDesk};

pub use compose::{compose_back, compose_get};
pub use confirm::{compose_confirm, compose_send};
pub use home::{admin_home, schedule_cancel, schedule_test};
pub use logs::logs_page;
pub use progress::{campaign_decide, campaign_page, poll_export};

/// The two compose desks: separate URLs, forms and role checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    Test,
    Alert,
}

/// The guard of a desk's pages, which also names the desk.
pub trait DeskGuard: Guard<Caller = Account> {
    const DESK: Desk;
}

impl DeskGuard for TestDesk {
    const DESK: Desk = Desk::Test;
}

impl DeskGuard for AlertDesk {
    const DESK: Desk = Desk::Alert;
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Test => "/admin/test",
            Desk::Alert => "/admin/alert",
        }
    }
    fn audience(self) -> Audience {
        match self {
            Desk::Test => Audience::Testers,
            Desk::Alert => Audience::Everyone,
        }
    }
    fn heading(self) -> &'static str {
        match self {
            Desk::Test => "Compose a test message",
            Desk::Alert => "Compose an emergency alert",
        }
    }
    fn instructions(self) -> &'static str {
        match self {
            Desk::Test => "This goes to the designated testers only. Say clearly that it is a test and not a real emergency.",
            Desk::Alert => "This goes to everyone. You can send more than one message, but a second or third may be delayed by the phone traffic the first one causes: put what matters most in this one.",
        }
    }
}
