//! Accounts: creating them (the first administrator from the CLI, [`create_admin`]),
//! changing their roles and removing them. The pages and the JSON API both call these,
//! so the rules are the same either way:
//!
//! - managing accounts needs [`Action::ManageUsers`] (technical and emergency
//!   administrators), and every role given or taken away needs [`Action::GrantRole`] for
//!   it: nobody gives or takes a role they do not hold;
//! - nobody takes a role away from their own account or removes it (another administrator
//!   has to), so an administrator cannot lock themselves out by a slip;
//! - the last holder of a role only its holders can grant ([`PROTECTED_ROLES`]) keeps it,
//!   otherwise nobody could give it again from the console;
//! - every change is written to the audit log. Roles are read from the database on every
//!   request, so a role taken away stops working at once for the account's sessions and
//!   API tokens; removing an account deletes its sessions and tokens with it.

use textgate_alerts::{authorize, Action, Role, Roles};

use crate::auth::{hash_password, PasswordError};
use crate::db::accounts::{role_name, AccountChange, ChangeOutcome};
use crate::db::{Account, AccountId};
use crate::state::{WebError, WebState};

/// The roles that only their holders may grant: the console never leaves one without a
/// holder.
pub const PROTECTED_ROLES: [Role; 3] = [
    Role::TechnicalAdministrator,
    Role::EmergencyAdministrator,
    Role::TranscriptAdministrator,
];

/// A role's name for people.
pub fn role_label(role: Role) -> String {
    role.to_string()
}

fn valid_email(email: &str) -> bool {
    let len_ok = (3..=254).contains(&email.len());
    let shape_ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
    });
    len_ok && shape_ok && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Creates an account. Mistakes in the input are `WebError::BadRequest` with a message
/// for the person typing.
pub async fn create_account(
    state: &WebState,
    email: &str,
    password: &str,
    roles: Roles,
) -> Result<AccountId, WebError> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(WebError::BadRequest(format!(
            "{email:?} is not an e-mail address."
        )));
    }
    let hash = hash_password(password, state.settings.password_cost).map_err(|e| match e {
        PasswordError::TooShort { .. } => WebError::BadRequest(format!("{e}.")),
        PasswordError::Hash(m) => WebError::Internal(m),
    })?;
    state
        .db
        .insert_account(&email, &hash, &roles, state.now())
        .await?
        .ok_or_else(|| WebError::BadRequest(format!("An account for {email} already exists.")))
}

/// Creates an administrator with `roles` (the CLI gives every role to the first one) and
/// records it in the audit log.
pub async fn create_admin(
    state: &WebState,
    email: &str,
    password: &str,
    roles: Roles,
) -> Result<AccountId, WebError> {
    let id = create_account(state, email, password, roles.clone()).await?;
    let names: Vec<&str> = roles.iter().map(role_name).collect();
    state
        .db
        .audit(
            None,
            "(command line)",
            "local",
            "create-admin",
            &format!("{email}: {}", names.join(",")),
            state.now(),
        )
        .await?;
    Ok(id)
}

/// Roles for people: "member, technical administrator".
pub fn roles_label(roles: &Roles) -> String {
    roles.iter().map(role_label).collect::<Vec<_>>().join(", ")
}

/// Who changes an account, from which address (for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub account: &'a Account,
    pub ip: &'a str,
}

impl Actor<'_> {
    async fn audit(&self, state: &WebState, action: &str, detail: &str) -> Result<(), WebError> {
        state
            .db
            .audit(
                Some(self.account.id),
                &self.account.email,
                self.ip,
                action,
                detail,
                state.now(),
            )
            .await?;
        Ok(())
    }
}

/// The account `id`, for someone allowed to manage accounts.
pub async fn managed_account(
    state: &WebState,
    actor: &Account,
    id: AccountId,
) -> Result<Account, WebError> {
    authorize(&actor.roles, Action::ManageUsers)?;
    state.db.account(id).await?.ok_or(WebError::NotFound)
}

/// Gives account `id` exactly `roles`. The message says what changed.
pub async fn change_roles(
    state: &WebState,
    actor: Actor<'_>,
    id: AccountId,
    roles: Roles,
) -> Result<String, WebError> {
    let target = managed_account(state, actor.account, id).await?;
    for role in Role::ALL {
        if target.roles.has(role) != roles.has(role) {
            authorize(&actor.account.roles, Action::GrantRole(role))?;
        }
    }
    if roles.iter().next().is_none() {
        return Err(WebError::BadRequest(
            "An account needs at least one role; to take them all away, remove the account.".into(),
        ));
    }
    if target.id == actor.account.id && target.roles.iter().any(|r| !roles.has(r)) {
        return Err(WebError::BadRequest(
            "You cannot take a role away from your own account: ask another administrator.".into(),
        ));
    }
    if roles == target.roles {
        return Ok(format!(
            "Nothing changed: {} has the roles {}.",
            target.email,
            roles_label(&roles)
        ));
    }
    let change = AccountChange::SetRoles(roles.clone());
    refused(&target, apply(state, &target, &change).await?)?;
    let names: Vec<&str> = roles.iter().map(role_name).collect();
    let before: Vec<&str> = target.roles.iter().map(role_name).collect();
    actor
        .audit(
            state,
            "change-roles",
            &format!(
                "{} (account {}): {} -> {}",
                target.email,
                target.id,
                before.join(","),
                names.join(",")
            ),
        )
        .await?;
    Ok(format!(
        "{} now has the roles {}.",
        target.email,
        roles_label(&roles)
    ))
}

/// Removes account `id` with its sessions, API tokens and alert registration (the test
/// log, the send log and the audit log keep their rows).
pub async fn remove_account(
    state: &WebState,
    actor: Actor<'_>,
    id: AccountId,
) -> Result<String, WebError> {
    let target = managed_account(state, actor.account, id).await?;
    // Removing an account takes all its roles away.
    for role in target.roles.iter() {
        authorize(&actor.account.roles, Action::GrantRole(role))?;
    }
    if target.id == actor.account.id {
        return Err(WebError::BadRequest(
            "You cannot remove your own account: ask another administrator.".into(),
        ));
    }
    refused(
        &target,
        apply(state, &target, &AccountChange::Remove).await?,
    )?;
    let names: Vec<&str> = target.roles.iter().map(role_name).collect();
    actor
        .audit(
            state,
            "remove-account",
            &format!(
                "{} (account {}): {}",
                target.email,
                target.id,
                names.join(",")
            ),
        )
        .await?;
    Ok(format!(
        "The account {} has been removed; its sessions and API tokens no longer work.",
        target.email
    ))
}

async fn apply(
    state: &WebState,
    target: &Account,
    change: &AccountChange,
) -> Result<ChangeOutcome, WebError> {
    Ok(state
        .db
        .change_account(target.id, &target.roles, change, &PROTECTED_ROLES)
        .await?)
}

/// A change the database refused, as the message for the administrator.
fn refused(target: &Account, outcome: ChangeOutcome) -> Result<(), WebError> {
    match outcome {
        ChangeOutcome::Done => Ok(()),
        ChangeOutcome::NotFound => Err(WebError::NotFound),
        ChangeOutcome::RolesChanged => Err(WebError::BadRequest(format!(
            "Someone else changed the roles of {} meanwhile; look at them again and retry.",
            target.email
        ))),
        ChangeOutcome::LastHolder(role) => Err(WebError::BadRequest(format!(
            "{} is the only {role}: give that role to another account first.",
            target.email
        ))),
    }
}

/// Every role: what the first administrator gets.
pub fn all_roles() -> Roles {
    Roles::new(Role::ALL)
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn email_shapes() {
        for ok in ["a@b.org", "first.last@library.example.edu"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.org", "a b@c.org", "a@.org", "x@y.z\n"] {
            assert!(!valid_email(bad), "{bad:?}");
        }
    }
}
