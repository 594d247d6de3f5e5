//! Creating accounts, including the first administrator (the CLI calls
//! [`create_admin`]).

use textgate_alerts::{Role, Roles};

use crate::auth::{hash_password, PasswordError};
use crate::db::AccountId;
use crate::state::{WebError, WebState};

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
    let names: Vec<&str> = roles.iter().map(crate::db::accounts::role_name).collect();
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
