//! Accounts: creating them (the first administrator from the command line,
//! [`Accounts::create_admin`]), changing their roles, designating testers and removing
//! them. The pages and the JSON API both call these, so the rules are the same either way:
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

mod data;
pub mod passwords;

use textgate_alerts::{authorize, Action, Role, Roles};

use crate::audit::AuditAction;
use crate::{Actor, AlertError, AlertService};
use passwords::PasswordError;

pub(crate) use data::{account as account_row, account_for_signin};

/// An account's primary key.
pub type AccountId = i64;

/// A stored account (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub roles: Roles,
    pub tester: bool,
}

/// What to do to an account whose roles are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccountChange {
    /// Give it exactly these roles.
    SetRoles(Roles),
    /// Delete it; its sessions, API tokens and registration go with it.
    Remove,
}

/// How a guarded account change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeOutcome {
    Done,
    /// No such account (any more).
    NotFound,
    /// Its roles are no longer the ones the change was checked against.
    RolesChanged,
    /// The change would leave nobody holding this role.
    LastHolder(Role),
}

/// The roles that only their holders may grant: the service never leaves one without a
/// holder.
pub const PROTECTED_ROLES: [Role; 3] = [
    Role::TechnicalAdministrator,
    Role::EmergencyAdministrator,
    Role::TranscriptAdministrator,
];

/// The stable name of a role in the database and the JSON API.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::TechnicalAdministrator => "technical-administrator",
        Role::EmergencyAdministrator => "emergency-administrator",
        Role::TranscriptAdministrator => "transcript-administrator",
        Role::TextSender => "text-sender",
    }
}

/// The role named `name` (see [`role_name`]).
pub fn parse_role(name: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_name(*r) == name)
}

/// A role's name for people.
pub fn role_label(role: Role) -> String {
    role.to_string()
}

/// Roles for people: "member, technical administrator".
pub fn roles_label(roles: &Roles) -> String {
    roles.iter().map(role_label).collect::<Vec<_>>().join(", ")
}

/// Role names as stored and audited: "member,technical-administrator".
fn role_names(roles: &Roles) -> String {
    data::roles_text(roles)
}

/// Every role: what the first administrator gets.
pub fn all_roles() -> Roles {
    Roles::new(Role::ALL)
}

fn valid_email(email: &str) -> bool {
    let len_ok = (3..=254).contains(&email.len());
    let shape_ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
    });
    len_ok && shape_ok && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The accounts of the alert service (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub(crate) service: &'a AlertService,
}

impl Accounts<'_> {
    /// The account `id`, if it exists.
    pub async fn get(&self, id: AccountId) -> Result<Option<Account>, AlertError> {
        data::account(self.service.database(), id).await
    }

    /// Every account, by e-mail address.
    pub async fn list(&self) -> Result<Vec<Account>, AlertError> {
        data::accounts(self.service.database()).await
    }

    /// Creates an account with `roles` for an administrator who manages accounts and holds
    /// every one of the roles; recorded in the audit log as `create-account`.
    pub async fn create(
        &self,
        actor: &Actor<'_>,
        email: &str,
        password: &str,
        roles: Roles,
    ) -> Result<Account, AlertError> {
        authorize(&actor.account.roles, Action::ManageUsers)?;
        for role in roles.iter() {
            authorize(&actor.account.roles, Action::GrantRole(role))?;
        }
        let id = self.insert(email, password, &roles).await?;
        let account = self.get(id).await?.ok_or(AlertError::NotFound)?;
        self.service
            .audit(
                actor,
                AuditAction::CreateAccount,
                &format!("{}: {}", account.email, role_names(&roles)),
            )
            .await?;
        Ok(account)
    }

    /// Creates an administrator with `roles` from the command line (where nobody is signed
    /// in; the first one gets [`all_roles`]); recorded in the audit log as `create-admin`.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        roles: Roles,
    ) -> Result<AccountId, AlertError> {
        let id = self.insert(email, password, &roles).await?;
        self.service
            .audit_command_line(
                AuditAction::CreateAdmin,
                &format!("{email}: {}", role_names(&roles)),
            )
            .await?;
        Ok(id)
    }

    /// Checks the address and the password and stores the account. Mistakes in the input
    /// are refusals with a message for the person typing.
    async fn insert(
        &self,
        email: &str,
        password: &str,
        roles: &Roles,
    ) -> Result<AccountId, AlertError> {
        let email = email.trim().to_lowercase();
        if !valid_email(&email) {
            return Err(AlertError::refused(format!(
                "{email:?} is not an e-mail address."
            )));
        }
        let settings = self.service.settings();
        let hash = passwords::hash(password, settings.password_cost).map_err(|e| match e {
            PasswordError::TooShort { .. } => AlertError::refused(format!("{e}.")),
            PasswordError::Hash(m) => AlertError::Internal(m),
        })?;
        data::insert(
            self.service.database(),
            &email,
            &hash,
            roles,
            self.service.now(),
        )
        .await?
        .ok_or_else(|| AlertError::refused(format!("An account for {email} already exists.")))
    }

    /// The account `id`, for someone allowed to manage accounts.
    pub async fn managed(&self, actor: &Account, id: AccountId) -> Result<Account, AlertError> {
        authorize(&actor.roles, Action::ManageUsers)?;
        self.get(id).await?.ok_or(AlertError::NotFound)
    }

    /// Gives account `id` exactly `roles`. The message says what changed.
    pub async fn change_roles(
        &self,
        actor: &Actor<'_>,
        id: AccountId,
        roles: Roles,
    ) -> Result<String, AlertError> {
        let target = self.managed(actor.account, id).await?;
        for role in Role::ALL {
            if target.roles.has(role) != roles.has(role) {
                authorize(&actor.account.roles, Action::GrantRole(role))?;
            }
        }
        if roles.iter().next().is_none() {
            return Err(AlertError::refused(
                "An account needs at least one role; to take them all away, remove the account.",
            ));
        }
        if target.id == actor.account.id && target.roles.iter().any(|r| !roles.has(r)) {
            return Err(AlertError::refused(
                "You cannot take a role away from your own account: ask another administrator.",
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
        refused(&target, self.apply(&target, &change).await?)?;
        self.service
            .audit(
                actor,
                AuditAction::ChangeRoles,
                &format!(
                    "{} (account {}): {} -> {}",
                    target.email,
                    target.id,
                    role_names(&target.roles),
                    role_names(&roles)
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
    pub async fn remove(&self, actor: &Actor<'_>, id: AccountId) -> Result<String, AlertError> {
        let target = self.managed(actor.account, id).await?;
        // Removing an account takes all its roles away.
        for role in target.roles.iter() {
            authorize(&actor.account.roles, Action::GrantRole(role))?;
        }
        if target.id == actor.account.id {
            return Err(AlertError::refused(
                "You cannot remove your own account: ask another administrator.",
            ));
        }
        refused(&target, self.apply(&target, &AccountChange::Remove).await?)?;
        self.service
            .audit(
                actor,
                AuditAction::RemoveAccount,
                &format!(
                    "{} (account {}): {}",
                    target.email,
                    target.id,
                    role_names(&target.roles)
                ),
            )
            .await?;
        Ok(format!(
            "The account {} has been removed; its sessions and API tokens no longer work.",
            target.email
        ))
    }

    /// Makes account `id` a designated tester (it receives technical administrators'
    /// tests), or no longer one.
    pub async fn set_tester(
        &self,
        actor: &Actor<'_>,
        id: AccountId,
        tester: bool,
    ) -> Result<(), AlertError> {
        authorize(&actor.account.roles, Action::DesignateTesters)?;
        if !data::set_tester(self.service.database(), id, tester).await? {
            return Err(AlertError::NotFound);
        }
        let action = if tester {
            AuditAction::DesignateTester
        } else {
            AuditAction::RemoveTester
        };
        self.service
            .audit(actor, action, &format!("account {id}"))
            .await
    }

    async fn apply(
        &self,
        target: &Account,
        change: &AccountChange,
    ) -> Result<ChangeOutcome, AlertError> {
        data::change_account(
            self.service.database(),
            target.id,
            &target.roles,
            change,
            &PROTECTED_ROLES,
        )
        .await
    }
}

/// A change the database refused, as the message for the administrator.
fn refused(target: &Account, outcome: ChangeOutcome) -> Result<(), AlertError> {
    match outcome {
        ChangeOutcome::Done => Ok(()),
        ChangeOutcome::NotFound => Err(AlertError::NotFound),
        ChangeOutcome::RolesChanged => Err(AlertError::refused(format!(
            "Someone else changed the roles of {} meanwhile; look at them again and retry.",
            target.email
        ))),
        ChangeOutcome::LastHolder(role) => Err(AlertError::refused(format!(
            "{} is the only {role}: give that role to another account first.",
            target.email
        ))),
    }
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
