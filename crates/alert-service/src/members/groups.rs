//! Optional groups (`[[alerts.group]]`: closures, weather ...): emergency alerts reach every
//! confirmed member whatever they chose; a group's messages reach the members who joined
//! it, on their page ([`Members::choose_groups`]) or by texting `JOIN <group>` and
//! `LEAVE <group>` ([`Members::handle_group_sms`]).
//!
//! A text is only taken as a group command when it is exactly `JOIN` or `LEAVE` and the
//! name of a configured group: "join the book club?" is a question for the librarians.

use textgate_store::with_database;

use super::{data, Members};
use textgate_store::Database;

use crate::{Account, AccountId, AlertError};

/// `JOIN closures` or `LEAVE closures`, read from a text: whether it joins, and the word.
fn group_command(body: &str) -> Option<(bool, &str)> {
    let text = body
        .trim()
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!'));
    let (verb, rest) = text.split_once(char::is_whitespace)?;
    let word = rest.trim();
    if word.is_empty() || word.contains(char::is_whitespace) {
        return None;
    }
    if verb.eq_ignore_ascii_case("join") {
        Some((true, word))
    } else if verb.eq_ignore_ascii_case("leave") {
        Some((false, word))
    } else {
        None
    }
}

impl Members<'_> {
    /// The configured groups `account` joined, by name.
    pub async fn groups_of(&self, account: &Account) -> Result<Vec<String>, AlertError> {
        let joined = joined(self.service.database(), account.id).await?;
        Ok(self
            .service
            .settings()
            .groups
            .iter()
            .filter(|g| joined.contains(&g.name))
            .map(|g| g.name.clone())
            .collect())
    }

    /// Sets `account`'s groups to exactly `chosen` (configured names; anything else is
    /// refused). Needs a registration: the groups are for the number on it.
    pub async fn choose_groups(
        &self,
        account: &Account,
        chosen: &[String],
    ) -> Result<String, AlertError> {
        let service = self.service;
        let groups = &service.settings().groups;
        for name in chosen {
            if !groups.iter().any(|g| g.name == *name) {
                return Err(AlertError::refused(format!("There is no group {name:?}.")));
            }
        }
        if data::registration(service.database(), account.id)
            .await?
            .is_none()
        {
            return Err(AlertError::refused(
                "Save your number first; the groups are for the number you register.",
            ));
        }
        let now = service.now();
        with_database!(service.database(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM alert_group_members WHERE account_id = $1")
                .bind(account.id)
                .execute(&mut *tx)
                .await?;
            for name in chosen {
                sqlx::query(
                    "INSERT INTO alert_group_members (account_id, group_name, joined_at)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(account.id)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(if chosen.is_empty() {
            "Saved: you get emergency alerts only.".to_owned()
        } else {
            format!(
                "Saved: you get emergency alerts and {}.",
                titles(service.settings(), chosen).join(", ")
            )
        })
    }

    /// Handles `JOIN <group>` or `LEAVE <group>` from `sender` on `gateway`: the member
    /// registered with that number joins or leaves, and gets an answer by SMS. `None` for
    /// any other text (it belongs to the librarians).
    pub async fn handle_group_sms(
        &self,
        gateway: &str,
        sender: &str,
        body: &str,
    ) -> Result<Option<String>, AlertError> {
        let service = self.service;
        let settings = service.settings();
        let Some((joins, word)) = group_command(body) else {
            return Ok(None);
        };
        let Some(group) = settings
            .groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(word))
        else {
            return Ok(None);
        };
        let Some(index) = settings.blind_index.index_sender(sender) else {
            return Ok(None);
        };
        let database = service.database();
        let registration = data::registration_by_index(database, &index.to_string()).await?;
        let reply = match registration.filter(|r| r.state == "active") {
            None => format!(
                "This number is not signed up for alerts. Sign up on the alert page first, then \
                 reply JOIN {}.",
                group.name.to_uppercase()
            ),
            Some(registration) => {
                let now = service.now();
                with_database!(database, pool => {
                    if joins {
                        sqlx::query(
                            "INSERT INTO alert_group_members (account_id, group_name, joined_at)
                             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        )
                        .bind(registration.account_id)
                        .bind(&group.name)
                        .bind(now)
                        .execute(pool)
                        .await?;
                    } else {
                        sqlx::query(
                            "DELETE FROM alert_group_members
                             WHERE account_id = $1 AND group_name = $2",
                        )
                        .bind(registration.account_id)
                        .bind(&group.name)
                        .execute(pool)
                        .await?;
                    }
                });
                let upper = group.name.to_uppercase();
                if joins {
                    format!(
                        "You will get {} texts too. Reply LEAVE {upper} to stop them; emergency \
                         alerts always come.",
                        group.title
                    )
                } else {
                    format!(
                        "You will no longer get {} texts; emergency alerts still come. Reply \
                         JOIN {upper} to get them again.",
                        group.title
                    )
                }
            }
        };
        service.answer_phone(gateway, sender, &reply).await?;
        Ok(Some(reply))
    }
}

fn titles(settings: &crate::AlertSettings, names: &[String]) -> Vec<String> {
    settings
        .groups
        .iter()
        .filter(|g| names.contains(&g.name))
        .map(|g| g.title.clone())
        .collect()
}

async fn joined(database: &Database, account: AccountId) -> Result<Vec<String>, AlertError> {
    let names = with_database!(database, pool => {
        sqlx::query_scalar("SELECT group_name FROM alert_group_members WHERE account_id = $1")
            .bind(account)
            .fetch_all(pool)
            .await?
    });
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::group_command;

    #[test]
    fn only_join_or_leave_and_one_word_are_commands() {
        assert_eq!(group_command("JOIN closures"), Some((true, "closures")));
        assert_eq!(group_command("  leave Weather. "), Some((false, "Weather")));
        assert_eq!(group_command("Join  closures!"), Some((true, "closures")));
        assert_eq!(group_command("join the book club?"), None);
        assert_eq!(group_command("JOIN"), None);
        assert_eq!(group_command("joinclosures"), None);
        assert_eq!(group_command("please join closures"), None);
    }
}
