//! Commands a librarian types in a chat with the gateway's own JID, for XMPP clients that
//! have no ad-hoc command UI: `waiting`, `transfer 555-123-9999 sam@library.example`,
//! `canned send hours +15551239999` ...
//!
//! Reading is forgiving where that cannot change the meaning (case, a leading `/` or `!` as
//! chat clients and habits from other chat tools add, extra spaces) and strict where it
//! could: a number that does not read as one, or words left over after a command, are errors
//! that quote the usage line, because a command that half-worked in a chat is worse than one
//! that said what it wanted.
//!
//! Also here, [`keyword_of`]: whether a patron's text is a single keyword (`HOURS?`) that the
//! gateway may answer by itself.

use std::fmt;

use crate::handle::PatronHandle;
use crate::jid::{BareJid, JidError};
use crate::phone::{PatronAddress, PhoneError, Region};

/// The longest canned reply name; names are typed in chats, so they stay short.
const MAX_CANNED_NAME_CHARS: usize = 32;

const USAGE_HELP: &str = "help";
const USAGE_STATUS: &str = "status";
const USAGE_WAITING: &str = "waiting";
const USAGE_TRANSFER: &str = "transfer <number> <colleague@domain or desk>";
const USAGE_RELEASE: &str = "release <number>";
const USAGE_PAUSE: &str = "pause";
const USAGE_RESUME: &str = "resume";
const USAGE_CANNED_LIST: &str = "canned";
const USAGE_CANNED_ADD: &str = "canned add <name> <text>";
const USAGE_CANNED_REMOVE: &str = "canned remove <name>";
const USAGE_CANNED_SEND: &str = "canned send <name> <number>";
const USAGE_CANNED: &str = "canned [add <name> <text> | remove <name> | send <name> <number>]";
const USAGE_BLOCK: &str = "block <number>";
const USAGE_UNBLOCK: &str = "unblock <number>";
const USAGE_BLOCKED: &str = "blocked";

/// The reply to `help`: every command on one line, short enough for one chat message. A test
/// checks that each usage line appears here.
const HELP_TEXT: &str = "\
Commands (a leading / or ! is fine):
waiting - list waiting and held texts (also: queue)
transfer <number> <colleague@domain or desk> - hand a conversation to a colleague or to
  another gateway's desk (replies still leave from this number)
release <number> - give up my claim on a conversation
pause / resume - stop / start getting new conversations
canned - list canned replies
canned add <name> <text> - save a canned reply
canned remove <name> - delete a canned reply
canned send <name> <number> - text a canned reply to a patron
block <number> / unblock <number> - refuse / accept texts from a number
blocked - list blocked numbers
status - gateway health
help - this list
A <number> may be national (555-123-9999), international (+44 20 7946 0018), a patron's JID,
or the handle a gateway that hides numbers shows (p-7kq2m9xd).";

/// A command from a librarian to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskCommand {
    /// `help` or `?`: the list of commands ([`DeskCommand::help_text`]). Words after it are
    /// ignored, since whoever asks for help may well type more than the command.
    Help,
    /// `status`: the gateway's health (modems, XMPP link, queue length).
    Status,
    /// `waiting` or `queue`: the texts waiting for an operator and those held back.
    Waiting,
    /// `transfer <number> <colleague@domain>`: hand the conversation with `patron` to the
    /// operator `to`. Whether `to` is an operator is the router's question, not the parser's.
    Transfer { patron: PatronAddress, to: BareJid },
    /// `transfer <number> <desk>`: hand the conversation with `patron` to the librarians of
    /// another gateway, named by its `name` in the configuration. Whether this gateway may
    /// hand conversations to that desk is the router's question.
    TransferToDesk { patron: PatronAddress, desk: String },
    /// `release <number>`: give up my claim on the conversation with `patron`, so the next
    /// text from them goes to the queue again.
    Release { patron: PatronAddress },
    /// `pause`: stop offering me new conversations; the ones I hold stay mine.
    Pause,
    /// `resume`: offer me new conversations again.
    Resume,
    /// `canned` (or `canned list`): the saved canned replies.
    CannedList,
    /// `canned add <name> <text>`: save `text` as a canned reply under `name`, replacing any
    /// reply of that name. The text is kept as typed, line breaks included.
    CannedAdd { name: CannedName, text: String },
    /// `canned remove <name>`: delete a canned reply.
    CannedRemove { name: CannedName },
    /// `canned send <name> <number>`: text the canned reply `name` to `patron`.
    CannedSend {
        name: CannedName,
        patron: PatronAddress,
    },
    /// `block <number>`: refuse texts from `patron` (spam, abuse).
    Block { patron: PatronAddress },
    /// `unblock <number>`: accept texts from `patron` again.
    Unblock { patron: PatronAddress },
    /// `blocked`: the blocked numbers.
    BlockedList,
}

/// The name of a canned reply: 1 to 32 of `a-z`, `0-9`, `-` and `_`, case-folded so that
/// `Hours` and `hours` are one reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CannedName(String);

/// A canned reply name that breaks the rules of [`CannedName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a canned reply name: use 1 to {MAX_CANNED_NAME_CHARS} letters (a-z), digits, \
     '-' or '_'"
)]
pub struct CannedNameError(pub String);

/// Why a librarian's message is not a command the gateway can carry out. The `Display` text is
/// written to be sent back in the chat as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no command given; send \"help\" for the list of commands")]
    Empty,
    #[error("unknown command {command:?}; send \"help\" for the list of commands")]
    Unknown { command: String },
    #[error("{problem}\nusage: {usage}")]
    BadArguments {
        usage: &'static str,
        problem: ArgumentProblem,
    },
}

/// What is wrong with the words after a known command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentProblem {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("unexpected {0:?} at the end")]
    Unexpected(String),
    #[error("{0}")]
    Number(PhoneError),
    #[error("{0}")]
    Colleague(JidError),
    #[error("{0}")]
    CannedName(CannedNameError),
    #[error("unknown canned reply action {0:?}: expected add, remove or send")]
    CannedAction(String),
}

/// What a librarian of another desk (one of the desks this gateway hands conversations to)
/// may do with this gateway's commands. They are its operators only to answer the
/// conversations handed to their desk, so a command about a patron is theirs only for
/// those, and the commands that read or change the home desk's own work (its queue, its
/// canned replies, its blocked numbers) are not theirs at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestAccess<'a> {
    /// Theirs as much as the home desk's: help, status, their own pause and resume, the
    /// list of canned replies.
    Allowed,
    /// Only in a conversation handed to their desk.
    IfHanded(&'a PatronAddress),
    /// The home desk's alone.
    Refused,
}

impl DeskCommand {
    /// What a librarian of another desk may do with this command ([`GuestAccess`]).
    pub fn guest_access(&self) -> GuestAccess<'_> {
        match self {
            DeskCommand::Help
            | DeskCommand::Status
            | DeskCommand::Pause
            | DeskCommand::Resume
            | DeskCommand::CannedList => GuestAccess::Allowed,
            DeskCommand::Transfer { patron, .. }
            | DeskCommand::TransferToDesk { patron, .. }
            | DeskCommand::Release { patron }
            | DeskCommand::CannedSend { patron, .. } => GuestAccess::IfHanded(patron),
            DeskCommand::Waiting
            | DeskCommand::CannedAdd { .. }
            | DeskCommand::CannedRemove { .. }
            | DeskCommand::Block { .. }
            | DeskCommand::Unblock { .. }
            | DeskCommand::BlockedList => GuestAccess::Refused,
        }
    }

    /// The command's word, as a librarian types it.
    pub fn word(&self) -> &'static str {
        match self {
            DeskCommand::Help => "help",
            DeskCommand::Status => "status",
            DeskCommand::Waiting => "waiting",
            DeskCommand::Transfer { .. } | DeskCommand::TransferToDesk { .. } => "transfer",
            DeskCommand::Release { .. } => "release",
            DeskCommand::Pause => "pause",
            DeskCommand::Resume => "resume",
            DeskCommand::CannedList => "canned",
            DeskCommand::CannedAdd { .. } => "canned add",
            DeskCommand::CannedRemove { .. } => "canned remove",
            DeskCommand::CannedSend { .. } => "canned send",
            DeskCommand::Block { .. } => "block",
            DeskCommand::Unblock { .. } => "unblock",
            DeskCommand::BlockedList => "blocked",
        }
    }

    /// The patron the command is about, for a caller that reads handles or numbers its
    /// own way before carrying it out.
    pub fn patron_mut(&mut self) -> Option<&mut PatronAddress> {
        match self {
            DeskCommand::Transfer { patron, .. }
            | DeskCommand::TransferToDesk { patron, .. }
            | DeskCommand::Release { patron }
            | DeskCommand::CannedSend { patron, .. }
            | DeskCommand::Block { patron }
            | DeskCommand::Unblock { patron } => Some(patron),
            _ => None,
        }
    }

    /// Reads a chat message as a command. National numbers are read with `region`.
    pub fn parse(text: &str, region: Region) -> Result<DeskCommand, CommandError> {
        let text = text.trim();
        let text = text.strip_prefix(['/', '!']).unwrap_or(text);
        let Some((word, rest)) = next_word(text) else {
            return Err(CommandError::Empty);
        };
        let command = match word.to_lowercase().as_str() {
            "help" | "?" => DeskCommand::Help,
            "status" => no_more(rest, USAGE_STATUS, DeskCommand::Status)?,
            "waiting" | "queue" => no_more(rest, USAGE_WAITING, DeskCommand::Waiting)?,
            "transfer" => transfer(rest, region)?,
            "release" => DeskCommand::Release {
                patron: patron(rest, region, USAGE_RELEASE)?,
            },
            "pause" => no_more(rest, USAGE_PAUSE, DeskCommand::Pause)?,
            "resume" => no_more(rest, USAGE_RESUME, DeskCommand::Resume)?,
            "canned" => canned(rest, region)?,
            "block" => DeskCommand::Block {
                patron: patron(rest, region, USAGE_BLOCK)?,
            },
            "unblock" => DeskCommand::Unblock {
                patron: patron(rest, region, USAGE_UNBLOCK)?,
            },
            "blocked" => no_more(rest, USAGE_BLOCKED, DeskCommand::BlockedList)?,
            _ => {
                return Err(CommandError::Unknown {
                    command: word.to_owned(),
                })
            }
        };
        Ok(command)
    }

    /// Every command with a one-line description, fit to send as one chat message.
    pub fn help_text() -> &'static str {
        HELP_TEXT
    }

    /// How this command is written, e.g. `release <number>`.
    pub fn usage(&self) -> &'static str {
        match self {
            DeskCommand::Help => USAGE_HELP,
            DeskCommand::Status => USAGE_STATUS,
            DeskCommand::Waiting => USAGE_WAITING,
            DeskCommand::Transfer { .. } | DeskCommand::TransferToDesk { .. } => USAGE_TRANSFER,
            DeskCommand::Release { .. } => USAGE_RELEASE,
            DeskCommand::Pause => USAGE_PAUSE,
            DeskCommand::Resume => USAGE_RESUME,
            DeskCommand::CannedList => USAGE_CANNED_LIST,
            DeskCommand::CannedAdd { .. } => USAGE_CANNED_ADD,
            DeskCommand::CannedRemove { .. } => USAGE_CANNED_REMOVE,
            DeskCommand::CannedSend { .. } => USAGE_CANNED_SEND,
            DeskCommand::Block { .. } => USAGE_BLOCK,
            DeskCommand::Unblock { .. } => USAGE_UNBLOCK,
            DeskCommand::BlockedList => USAGE_BLOCKED,
        }
    }
}

impl CannedName {
    /// Checks and case-folds a name as typed.
    pub fn new(name: &str) -> Result<Self, CannedNameError> {
        let folded = name.to_ascii_lowercase();
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if folded.is_empty()
            || folded.chars().count() > MAX_CANNED_NAME_CHARS
            || !folded.chars().all(allowed)
        {
            return Err(CannedNameError(name.to_owned()));
        }
        Ok(CannedName(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CannedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The keyword a patron's text consists of, upper-cased, when the whole text is one word:
/// `"hours?"` is `HOURS`, `" ¿Horas? "` is `HORAS`, `"what are your hours"` is no keyword.
/// Punctuation around the word is ignored because phones and people add it; a "word" without
/// a letter or digit (`"?"`, an emoji) is none.
pub fn keyword_of(text: &str) -> Option<String> {
    let is_wrapping = |c: char| c.is_whitespace() || "?!.,;:\u{2026}\u{bf}\u{a1}".contains(c);
    let word = text.trim_matches(is_wrapping);
    if word.contains(char::is_whitespace) || !word.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(word.to_uppercase())
}

fn bad(usage: &'static str, problem: ArgumentProblem) -> CommandError {
    CommandError::BadArguments { usage, problem }
}

/// Splits off the first word. The rest loses its leading spaces only, so that a canned
/// reply's text keeps its own spacing and line breaks.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], text[end..].trim_start()))
}

/// `command` if nothing follows it.
fn no_more(
    rest: &str,
    usage: &'static str,
    command: DeskCommand,
) -> Result<DeskCommand, CommandError> {
    match rest.trim() {
        "" => Ok(command),
        extra => Err(bad(usage, ArgumentProblem::Unexpected(extra.to_owned()))),
    }
}

/// `transfer <number> <colleague@domain>` or `transfer <number> <desk>`. The colleague or
/// desk is the last word, so the number before it may be written with spaces
/// (`(555) 123 9999`). A desk is a gateway's name: letters, digits, `-` and `_`, with at
/// least one letter, so the last group of a number written with spaces is never read as
/// one.
fn transfer(rest: &str, region: Region) -> Result<DeskCommand, CommandError> {
    let rest = rest.trim();
    let Some((number, to)) = rest.rsplit_once(char::is_whitespace) else {
        return Err(bad(
            USAGE_TRANSFER,
            ArgumentProblem::Missing("the patron's number and the colleague's JID"),
        ));
    };
    let is_desk = to.bytes().any(|b| b.is_ascii_alphabetic())
        && to
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if is_desk {
        return Ok(DeskCommand::TransferToDesk {
            patron: patron(number, region, USAGE_TRANSFER)?,
            desk: to.to_owned(),
        });
    }
    if !to.contains('@') {
        return Err(bad(
            USAGE_TRANSFER,
            ArgumentProblem::Missing("the colleague's JID (name@domain) after the number"),
        ));
    }
    let to = BareJid::new(to).map_err(|e| bad(USAGE_TRANSFER, ArgumentProblem::Colleague(e)))?;
    Ok(DeskCommand::Transfer {
        patron: patron(number, region, USAGE_TRANSFER)?,
        to,
    })
}

/// `canned`, `canned list`, `canned add|remove|send ...`.
fn canned(rest: &str, region: Region) -> Result<DeskCommand, CommandError> {
    let Some((action, rest)) = next_word(rest) else {
        return Ok(DeskCommand::CannedList);
    };
    match action.to_lowercase().as_str() {
        "list" => no_more(rest, USAGE_CANNED_LIST, DeskCommand::CannedList),
        "add" => {
            let (name, text) = canned_name(rest, USAGE_CANNED_ADD)?;
            let text = text.trim_end();
            if text.is_empty() {
                return Err(bad(
                    USAGE_CANNED_ADD,
                    ArgumentProblem::Missing("the text of the reply"),
                ));
            }
            Ok(DeskCommand::CannedAdd {
                name,
                text: text.to_owned(),
            })
        }
        "remove" => {
            let (name, rest) = canned_name(rest, USAGE_CANNED_REMOVE)?;
            no_more(
                rest,
                USAGE_CANNED_REMOVE,
                DeskCommand::CannedRemove { name },
            )
        }
        "send" => {
            let (name, rest) = canned_name(rest, USAGE_CANNED_SEND)?;
            Ok(DeskCommand::CannedSend {
                name,
                patron: patron(rest, region, USAGE_CANNED_SEND)?,
            })
        }
        _ => Err(bad(
            USAGE_CANNED,
            ArgumentProblem::CannedAction(action.to_owned()),
        )),
    }
}

/// The canned reply name at the start of `rest`, and what follows it.
fn canned_name<'a>(
    rest: &'a str,
    usage: &'static str,
) -> Result<(CannedName, &'a str), CommandError> {
    let (name, rest) = next_word(rest).ok_or_else(|| {
        bad(
            usage,
            ArgumentProblem::Missing("the name of the canned reply"),
        )
    })?;
    let name = CannedName::new(name).map_err(|e| bad(usage, ArgumentProblem::CannedName(e)))?;
    Ok((name, rest))
}

/// A patron named by number, by privacy handle (`p-7kq2m9xd`), or by JID as clients paste a
/// contact (`+15551239999@sms.library.example`, sometimes as an `xmpp:` link), whose
/// localpart is the number or the handle.
fn patron(text: &str, region: Region, usage: &'static str) -> Result<PatronAddress, CommandError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(usage, ArgumentProblem::Missing("the patron's number")));
    }
    let number = if text.contains('@') {
        let Some((jid, extra)) = next_word(text) else {
            return Err(bad(usage, ArgumentProblem::Missing("the patron's number")));
        };
        if !extra.is_empty() {
            return Err(bad(usage, ArgumentProblem::Unexpected(extra.to_owned())));
        }
        let local = jid.split_once('@').map_or(jid, |(local, _)| local);
        match local.get(..5) {
            Some(scheme) if scheme.eq_ignore_ascii_case("xmpp:") => &local[5..],
            _ => local,
        }
    } else {
        text
    };
    // On a gateway that hides numbers the librarian knows the patron by a handle; it stands
    // as a sender's name here and the gateway looks up the number.
    if let Some(handle) = PatronHandle::parse(number) {
        return Ok(PatronAddress::Alphanumeric(handle.as_str().to_owned()));
    }
    PatronAddress::from_dialled(number, region).map_err(|e| bad(usage, ArgumentProblem::Number(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    fn us() -> Region {
        "US".parse().unwrap()
    }

    fn check(text: &str, expect: Expect) {
        let actual = match DeskCommand::parse(text, us()) {
            Ok(command) => format!("{command:?}"),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    /// Another desk's librarian acts on the conversations handed to their desk and on
    /// nothing else of this gateway's: every command that names a patron is checked, and
    /// the home desk's lists and settings are refused.
    #[test]
    fn what_another_desks_librarian_may_do() {
        let access = |line: &str| {
            let command = DeskCommand::parse(line, us()).unwrap();
            match command.guest_access() {
                GuestAccess::Allowed => "allowed".to_owned(),
                GuestAccess::IfHanded(patron) => format!("if {} is handed", patron.as_str()),
                GuestAccess::Refused => format!("refused ({})", command.word()),
            }
        };
        let seen: Vec<String> = [
            "help",
            "status",
            "pause",
            "resume",
            "canned",
            "transfer 555-123-9999 bob@library.test",
            "transfer 555-123-9999 annex",
            "release 555-123-9999",
            "canned send hours 555-123-9999",
            "waiting",
            "canned add hours We open at nine.",
            "canned remove hours",
            "block 555-123-9999",
            "unblock 555-123-9999",
            "blocked",
        ]
        .iter()
        .map(|line| access(line))
        .collect();
        let handed = "if +15551239999 is handed";
        assert_eq!(
            seen,
            [
                "allowed",
                "allowed",
                "allowed",
                "allowed",
                "allowed",
                handed,
                handed,
                handed,
                handed,
                "refused (waiting)",
                "refused (canned add)",
                "refused (canned remove)",
                "refused (block)",
                "refused (unblock)",
                "refused (blocked)",
            ]
        );
    }

    #[test]
    fn simple_commands() {
        check("help", expect!["Help"]);
        check("?", expect!["Help"]);
        check("/?", expect!["Help"]);
        check("HELP me please", expect!["Help"]);
        check("status", expect!["Status"]);
        check("  !Status  ", expect!["Status"]);
        check("/waiting", expect!["Waiting"]);
        check("Queue", expect!["Waiting"]);
        check("pause", expect!["Pause"]);
        check("RESUME", expect!["Resume"]);
        check("blocked", expect!["BlockedList"]);
        check("canned", expect!["CannedList"]);
        check("canned  LIST", expect!["CannedList"]);
    }

    #[test]
    fn unknown_and_empty_messages_point_to_help() {
        check(
            "Hello, are you there?",
            expect![[r#"error: unknown command "Hello,"; send "help" for the list of commands"#]],
        );
        check(
            "//help",
            expect![[r#"error: unknown command "/help"; send "help" for the list of commands"#]],
        );
        check(
            "   ",
            expect![[r#"error: no command given; send "help" for the list of commands"#]],
        );
        check(
            "/",
            expect![[r#"error: no command given; send "help" for the list of commands"#]],
        );
    }

    #[test]
    fn leftover_words_are_refused() {
        check(
            "pause for 10 minutes",
            expect![[r#"
                error: unexpected "for 10 minutes" at the end
                usage: pause"#]],
        );
        check(
            "waiting now",
            expect![[r#"
                error: unexpected "now" at the end
                usage: waiting"#]],
        );
        check(
            "canned list all",
            expect![[r#"
                error: unexpected "all" at the end
                usage: canned"#]],
        );
    }

    #[test]
    fn privacy_handles_name_patrons_too() {
        check(
            "block P-7KQ2M9XD",
            expect![[r#"Block { patron: Alphanumeric("p-7kq2m9xd") }"#]],
        );
        check(
            "transfer p-7kq2m9xd@sms.library.test bob@library.test",
            expect![[
                r#"Transfer { patron: Alphanumeric("p-7kq2m9xd"), to: BareJid("bob@library.test") }"#
            ]],
        );
        // One symbol short is not a handle, and not a number either.
        check(
            "release p-7kq2m9x",
            expect![[r#"
                error: "p-7kq2m9x" is not a phone number: it contains letters
                usage: release <number>"#]],
        );
    }

    #[test]
    fn numbers_are_read_in_every_usual_form() {
        check(
            "release 555-123-9999",
            expect![[r#"Release { patron: E164("+15551239999") }"#]],
        );
        check(
            "release (555) 123 9999",
            expect![[r#"Release { patron: E164("+15551239999") }"#]],
        );
        check(
            "block +44 20 7946 0018",
            expect![[r#"Block { patron: E164("+442079460018") }"#]],
        );
        check(
            "block 011 44 20 7946 0018",
            expect![[r#"Block { patron: E164("+442079460018") }"#]],
        );
        check(
            "unblock 0049 30 901820",
            expect![[r#"Unblock { patron: E164("+4930901820") }"#]],
        );
        check(
            "unblock 72345",
            expect![[r#"Unblock { patron: ShortCode("72345") }"#]],
        );
        check(
            "release +15551239999@sms.example",
            expect![[r#"Release { patron: E164("+15551239999") }"#]],
        );
        check(
            "block xmpp:+15551239999@sms.example",
            expect![[r#"Block { patron: E164("+15551239999") }"#]],
        );
        check(
            "release +15551239999@sms.example/phone",
            expect![[r#"Release { patron: E164("+15551239999") }"#]],
        );
    }

    #[test]
    fn bad_numbers_say_why_and_how() {
        check(
            "release",
            expect![[r#"
                error: missing the patron's number
                usage: release <number>"#]],
        );
        check(
            "block 555-CALL-NOW",
            expect![[r#"
                error: "555-CALL-NOW" is not a phone number: it contains letters
                usage: block <number>"#]],
        );
        check(
            "unblock 555-123",
            expect![[r#"
                error: "555-123" is not a possible number for country code +1: 6 digits after the country code, expected 10
                usage: unblock <number>"#]],
        );
        check(
            "release +15551239999@sms.example please",
            expect![[r#"
                error: unexpected "please" at the end
                usage: release <number>"#]],
        );
        check(
            "block alice@library.example",
            expect![[r#"
                error: "alice" is not a phone number: it contains letters
                usage: block <number>"#]],
        );
    }

    #[test]
    fn transfer_names_a_colleague_last() {
        check(
            "transfer 555-123-9999 Sam@Library.Example",
            expect![[
                r#"Transfer { patron: E164("+15551239999"), to: BareJid("sam@library.example") }"#
            ]],
        );
        check(
            "/TRANSFER   (555) 123-9999   sam@library.example  ",
            expect![[
                r#"Transfer { patron: E164("+15551239999"), to: BareJid("sam@library.example") }"#
            ]],
        );
        check(
            "transfer +15551239999@sms.example sam@library.example",
            expect![[
                r#"Transfer { patron: E164("+15551239999"), to: BareJid("sam@library.example") }"#
            ]],
        );
        check(
            "transfer",
            expect![[r#"
                error: missing the patron's number and the colleague's JID
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
        check(
            "transfer sam@library.example",
            expect![[r#"
                error: missing the patron's number and the colleague's JID
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
        check(
            "transfer 555-123-9999 branch",
            expect![[r#"TransferToDesk { patron: E164("+15551239999"), desk: "branch" }"#]],
        );
        check(
            "transfer 555 123 9999",
            expect![[r#"
                error: missing the colleague's JID (name@domain) after the number
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
        check(
            "transfer sam@library.example 555-123-9999",
            expect![[r#"
                error: missing the colleague's JID (name@domain) after the number
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
        check(
            "transfer 555-123-9999 sam@library.example/desk",
            expect![[r#"
                error: "sam@library.example/desk" is not a valid JID: a bare JID has no resource ('/...')
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
        check(
            "transfer 555-123-9999 @library.example",
            expect![[r#"
                error: "@library.example" is not a valid JID: the localpart before '@' is empty
                usage: transfer <number> <colleague@domain or desk>"#]],
        );
    }

    #[test]
    fn canned_replies() {
        check(
            "canned add Hours We are open 9-5.\n  Sat 10-2 ",
            expect![[
                r#"CannedAdd { name: CannedName("hours"), text: "We are open 9-5.\n  Sat 10-2" }"#
            ]],
        );
        check(
            "!Canned ADD renew_online-2 Renew at library.example/renew",
            expect![[
                r#"CannedAdd { name: CannedName("renew_online-2"), text: "Renew at library.example/renew" }"#
            ]],
        );
        check(
            "canned remove HOURS",
            expect![[r#"CannedRemove { name: CannedName("hours") }"#]],
        );
        check(
            "canned send hours 555-123-9999",
            expect![[r#"CannedSend { name: CannedName("hours"), patron: E164("+15551239999") }"#]],
        );
        check(
            "canned send hours +15551239999@sms.example",
            expect![[r#"CannedSend { name: CannedName("hours"), patron: E164("+15551239999") }"#]],
        );
    }

    #[test]
    fn canned_reply_mistakes() {
        check(
            "canned add",
            expect![[r#"
                error: missing the name of the canned reply
                usage: canned add <name> <text>"#]],
        );
        check(
            "canned add hours",
            expect![[r#"
                error: missing the text of the reply
                usage: canned add <name> <text>"#]],
        );
        check(
            "canned add opening.hours We open at 9",
            expect![[r#"
                error: "opening.hours" is not a canned reply name: use 1 to 32 letters (a-z), digits, '-' or '_'
                usage: canned add <name> <text>"#]],
        );
        check(
            "canned add öffnungszeiten Wir öffnen um 9",
            expect![[r#"
                error: "öffnungszeiten" is not a canned reply name: use 1 to 32 letters (a-z), digits, '-' or '_'
                usage: canned add <name> <text>"#]],
        );
        check(
            "canned remove",
            expect![[r#"
                error: missing the name of the canned reply
                usage: canned remove <name>"#]],
        );
        check(
            "canned remove hours now",
            expect![[r#"
                error: unexpected "now" at the end
                usage: canned remove <name>"#]],
        );
        check(
            "canned send hours",
            expect![[r#"
                error: missing the patron's number
                usage: canned send <name> <number>"#]],
        );
        check(
            "canned send 555-123-9999 hours",
            expect![[r#"
                error: "hours" is not a phone number: it contains letters
                usage: canned send <name> <number>"#]],
        );
        check(
            "canned edit hours",
            expect![[r#"
                error: unknown canned reply action "edit": expected add, remove or send
                usage: canned [add <name> <text> | remove <name> | send <name> <number>]"#]],
        );
    }

    #[test]
    fn canned_names() {
        let name = |s: &str| CannedName::new(s).map(|n| n.to_string());
        assert_eq!(name("Hours"), Ok("hours".to_owned()));
        assert_eq!(name(&"a".repeat(32)).map(|n| n.len()), Ok(32));
        assert!(name(&"a".repeat(33)).is_err());
        assert!(name("").is_err());
        assert!(name("two words").is_err());
        // Kelvin sign: lower-cases to 'k' under Unicode rules, but is not ASCII.
        assert!(name("\u{212a}").is_err());
    }

    #[test]
    fn every_command_is_in_the_help_text() {
        let help = DeskCommand::help_text();
        for usage in [
            USAGE_HELP,
            USAGE_STATUS,
            USAGE_WAITING,
            USAGE_TRANSFER,
            USAGE_RELEASE,
            USAGE_PAUSE,
            USAGE_RESUME,
            USAGE_CANNED_LIST,
            USAGE_CANNED_ADD,
            USAGE_CANNED_REMOVE,
            USAGE_CANNED_SEND,
            USAGE_BLOCK,
            USAGE_UNBLOCK,
            USAGE_BLOCKED,
        ] {
            assert!(help.contains(usage), "{usage:?} missing from the help text");
        }
        // One chat message, readable on a phone-sized client.
        assert!(help.lines().all(|line| line.chars().count() <= 100));
    }

    #[test]
    fn usage_matches_the_command() {
        for (text, usage) in [
            ("help", "help"),
            ("queue", "waiting"),
            ("transfer 555-123-9999 sam@library.example", USAGE_TRANSFER),
            ("release 555-123-9999", USAGE_RELEASE),
            ("canned", USAGE_CANNED_LIST),
            ("canned add hours Open 9-5", USAGE_CANNED_ADD),
            ("canned remove hours", USAGE_CANNED_REMOVE),
            ("canned send hours 555-123-9999", USAGE_CANNED_SEND),
            ("block 555-123-9999", USAGE_BLOCK),
            ("unblock 555-123-9999", USAGE_UNBLOCK),
            ("blocked", USAGE_BLOCKED),
            ("pause", USAGE_PAUSE),
            ("resume", USAGE_RESUME),
            ("status", USAGE_STATUS),
        ] {
            let command = DeskCommand::parse(text, us()).unwrap();
            assert_eq!(command.usage(), usage, "{text}");
        }
    }

    #[test]
    fn keywords() {
        let cases = [
            ("hours?", Some("HOURS")),
            ("  Hours  ", Some("HOURS")),
            ("STOP.", Some("STOP")),
            ("hours ?!", Some("HOURS")),
            ("¿horas?", Some("HORAS")),
            ("straße", Some("STRASSE")),
            ("e-book", Some("E-BOOK")),
            ("what are your hours", None),
            ("hours please", None),
            ("?", None),
            ("", None),
            ("   ", None),
            ("\u{1f44d}", None),
        ];
        for (text, keyword) in cases {
            assert_eq!(keyword_of(text).as_deref(), keyword, "{text:?}");
        }
    }

    proptest! {
        /// No message makes reading panic, and an accepted command's usage line is in the
        /// help text.
        #[test]
        fn any_message_is_read_without_panicking(
            text in "\\PC{0,40}|[/!]?(help|status|waiting|transfer|release|pause|resume|canned|block|unblock|blocked) ?(add|remove|send)? ?[a-zA-Z0-9_.@+() -]{0,30}",
        ) {
            if let Ok(command) = DeskCommand::parse(&text, us()) {
                prop_assert!(DeskCommand::help_text().contains(command.usage()));
            }
        }

        /// A keyword is one upper-case word, whatever the text.
        #[test]
        fn keywords_are_single_words(text in "\\PC{0,20}|[a-zA-Z?!. ]{0,12}") {
            if let Some(keyword) = keyword_of(&text) {
                prop_assert!(!keyword.is_empty());
                prop_assert!(!keyword.contains(char::is_whitespace));
                prop_assert_eq!(keyword.to_uppercase(), keyword.clone());
            }
        }
    }
}
