//! The guarded account change against a real PostgreSQL and SQLite: the last holder of an
//! administrator role keeps it even when two administrators take it from each other at
//! the same moment, because the check and the change are one transaction that other
//! account changes wait for. (The same race through HTTP is in the web crate's
//! `tests/access.rs`.)

use textgate_alerts::{Role, Roles};

use super::change_account;
use crate::accounts::{AccountChange, ChangeOutcome, PROTECTED_ROLES};
use crate::test_support::on_both_backends;

#[tokio::test]
async fn the_last_holder_of_a_role_is_never_demoted_or_removed() {
    on_both_backends(|service| async move {
        let tech_roles = Roles::new([Role::TechnicalAdministrator, Role::Member]);
        let accounts = service.accounts();
        let a = accounts
            .create_admin(
                "a@example.org",
                "a long enough password",
                tech_roles.clone(),
            )
            .await
            .unwrap();
        let b = accounts
            .create_admin(
                "b@example.org",
                "a long enough password",
                tech_roles.clone(),
            )
            .await
            .unwrap();
        let database = service.database();
        let protected = PROTECTED_ROLES;
        let demote = AccountChange::SetRoles(Roles::new([Role::Member]));
        // Both were checked against "the other one is still a technical administrator".
        let first = change_account(database, b, &tech_roles, &demote, &protected)
            .await
            .unwrap();
        assert_eq!(first, ChangeOutcome::Done);
        let second = change_account(database, a, &tech_roles, &demote, &protected)
            .await
            .unwrap();
        assert_eq!(
            second,
            ChangeOutcome::LastHolder(Role::TechnicalAdministrator)
        );
        let removal = change_account(database, a, &tech_roles, &AccountChange::Remove, &protected)
            .await
            .unwrap();
        assert_eq!(
            removal,
            ChangeOutcome::LastHolder(Role::TechnicalAdministrator)
        );
        // A change checked against roles that have changed since is refused too.
        let stale = change_account(database, b, &tech_roles, &AccountChange::Remove, &protected)
            .await
            .unwrap();
        assert_eq!(stale, ChangeOutcome::RolesChanged);
    })
    .await;
}
