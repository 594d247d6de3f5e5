//! Splitting a command line the host sent into commands (ITU-T V.250 syntax as 27.007 uses
//! it): basic commands (`E0`, `I`, `&F`, `S0=0`) and extended ones (`+CMGS=23`, `+CPIN?`,
//! `+CNMI=?`), several per line separated by `;` or simply following each other.

/// How an extended command is invoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// `AT+CMD`
    Execute,
    /// `AT+CMD?`
    Read,
    /// `AT+CMD=?`
    Test,
    /// `AT+CMD=a,b,"c"`
    Set(Vec<Arg>),
}

/// One argument of a set command; quotes are removed, an omitted argument is `Empty`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Empty,
    Number(u32),
    Text(String),
}

impl Arg {
    /// The argument as a number (quoted digits count: some hosts quote everything).
    pub fn number(&self) -> Option<u32> {
        match self {
            Arg::Number(n) => Some(*n),
            Arg::Text(t) => t.parse().ok(),
            Arg::Empty => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Arg::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Arg::Empty => String::new(),
            Arg::Number(n) => n.to_string(),
            Arg::Text(t) => t.clone(),
        }
    }
}

/// One command of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A basic command: `E1` is `Basic { name: "E", value: Some(1) }`, `&F` has name `&F`.
    Basic { name: String, value: Option<u32> },
    /// `S7=60` or `S7?`.
    Register { number: u32, value: Option<u32> },
    /// `+CMGS=23`: the name is upper-cased and includes its prefix character.
    Extended { name: String, form: Form },
}

/// Why a command line could not be split.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("unexpected character {0:?}")]
    Unexpected(char),
    #[error("unterminated quoted string")]
    Unterminated,
    #[error("number out of range")]
    NumberTooLarge,
}

/// Finds the `AT` prefix and splits what follows into commands. Returns `None` when the
/// line holds no `AT` at all (real modems stay silent on such lines).
pub fn parse_line(line: &str) -> Option<Result<Vec<Command>, SyntaxError>> {
    let upper = line.to_ascii_uppercase();
    let start = upper.find("AT")?;
    let body = line.get(start + 2..).unwrap_or("");
    Some(parse_body(body))
}

fn parse_body(body: &str) -> Result<Vec<Command>, SyntaxError> {
    let chars: Vec<char> = body.chars().collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars.get(i).copied().unwrap_or(';');
        match c {
            ';' | ' ' => i += 1,
            '+' | '^' | '$' | '#' | '*' => {
                let mut name = String::from(c);
                i += 1;
                while let Some(&n) = chars.get(i) {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n.to_ascii_uppercase());
                        i += 1;
                    } else {
                        break;
                    }
                }
                // Everything up to an unquoted `;` belongs to this command.
                let rest_start = i;
                let mut quoted = false;
                while let Some(&n) = chars.get(i) {
                    if n == '"' {
                        quoted = !quoted;
                    } else if n == ';' && !quoted {
                        break;
                    }
                    i += 1;
                }
                if quoted {
                    return Err(SyntaxError::Unterminated);
                }
                let rest: String = chars.get(rest_start..i).unwrap_or(&[]).iter().collect();
                let form = parse_form(rest.trim())?;
                commands.push(Command::Extended { name, form });
            }
            'S' | 's' => {
                i += 1;
                let number = digits(&chars, &mut i)?.unwrap_or(0);
                let value = match chars.get(i) {
                    Some('=') => {
                        i += 1;
                        Some(digits(&chars, &mut i)?.unwrap_or(0))
                    }
                    Some('?') => {
                        i += 1;
                        None
                    }
                    _ => None,
                };
                commands.push(Command::Register { number, value });
            }
            '&' => {
                i += 1;
                let letter = chars.get(i).copied().ok_or(SyntaxError::Unexpected('&'))?;
                if !letter.is_ascii_alphabetic() {
                    return Err(SyntaxError::Unexpected(letter));
                }
                i += 1;
                let value = digits(&chars, &mut i)?;
                commands.push(Command::Basic {
                    name: format!("&{}", letter.to_ascii_uppercase()),
                    value,
                });
            }
            'D' | 'd' => {
                // Dialling takes the rest of the line; the simulator has no voice calls.
                commands.push(Command::Basic {
                    name: "D".to_owned(),
                    value: None,
                });
                break;
            }
            c if c.is_ascii_alphabetic() => {
                i += 1;
                let value = digits(&chars, &mut i)?;
                commands.push(Command::Basic {
                    name: c.to_ascii_uppercase().to_string(),
                    value,
                });
            }
            other => return Err(SyntaxError::Unexpected(other)),
        }
    }
    Ok(commands)
}

fn digits(chars: &[char], i: &mut usize) -> Result<Option<u32>, SyntaxError> {
    let mut value: Option<u32> = None;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        value = Some(
            value
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(d))
                .ok_or(SyntaxError::NumberTooLarge)?,
        );
        *i += 1;
    }
    Ok(value)
}

fn parse_form(rest: &str) -> Result<Form, SyntaxError> {
    if rest.is_empty() {
        return Ok(Form::Execute);
    }
    if rest == "?" {
        return Ok(Form::Read);
    }
    let Some(args) = rest.strip_prefix('=') else {
        return Err(SyntaxError::Unexpected(rest.chars().next().unwrap_or('?')));
    };
    let args = args.trim();
    if args == "?" {
        return Ok(Form::Test);
    }
    Ok(Form::Set(split_args(args)?))
}

fn split_args(args: &str) -> Result<Vec<Arg>, SyntaxError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in args.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                out.push(to_arg(&current, was_quoted)?);
                current.clear();
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(SyntaxError::Unterminated);
    }
    out.push(to_arg(&current, was_quoted)?);
    Ok(out)
}

fn to_arg(raw: &str, quoted: bool) -> Result<Arg, SyntaxError> {
    if quoted {
        return Ok(Arg::Text(raw.to_owned()));
    }
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Arg::Empty);
    }
    if raw.chars().all(|c| c.is_ascii_digit()) {
        return raw
            .parse()
            .map(Arg::Number)
            .map_err(|_| SyntaxError::NumberTooLarge);
    }
    Ok(Arg::Text(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(line: &str, expected: Expect) {
        expected.assert_debug_eq(&parse_line(line));
    }

    #[test]
    fn splits_command_lines() {
        check(
            "garbage",
            expect![[r#"
            None
        "#]],
        );
        check(
            "AT",
            expect![[r#"
            Some(
                Ok(
                    [],
                ),
            )
        "#]],
        );
        check(
            "ATE0V1&F",
            expect![[r#"
            Some(
                Ok(
                    [
                        Basic {
                            name: "E",
                            value: Some(
                                0,
                            ),
                        },
                        Basic {
                            name: "V",
                            value: Some(
                                1,
                            ),
                        },
                        Basic {
                            name: "&F",
                            value: None,
                        },
                    ],
                ),
            )
        "#]],
        );
        check(
            "at+cmee=1;+cnmi=2,1,,2,0",
            expect![[r#"
            Some(
                Ok(
                    [
                        Extended {
                            name: "+CMEE",
                            form: Set(
                                [
                                    Number(
                                        1,
                                    ),
                                ],
                            ),
                        },
                        Extended {
                            name: "+CNMI",
                            form: Set(
                                [
                                    Number(
                                        2,
                                    ),
                                    Number(
                                        1,
                                    ),
                                    Empty,
                                    Number(
                                        2,
                                    ),
                                    Number(
                                        0,
                                    ),
                                ],
                            ),
                        },
                    ],
                ),
            )
        "#]],
        );
        check(
            "AT+CPIN=\"1;2,34\"",
            expect![[r#"
            Some(
                Ok(
                    [
                        Extended {
                            name: "+CPIN",
                            form: Set(
                                [
                                    Text(
                                        "1;2,34",
                                    ),
                                ],
                            ),
                        },
                    ],
                ),
            )
        "#]],
        );
        check(
            "AT+CPMS?;+CNMI=?",
            expect![[r#"
            Some(
                Ok(
                    [
                        Extended {
                            name: "+CPMS",
                            form: Read,
                        },
                        Extended {
                            name: "+CNMI",
                            form: Test,
                        },
                    ],
                ),
            )
        "#]],
        );
        check(
            "AT+CSCA=\"+4477",
            expect![[r#"
            Some(
                Err(
                    Unterminated,
                ),
            )
        "#]],
        );
        check(
            "ATS0=0E99999999999",
            expect![[r#"
            Some(
                Err(
                    NumberTooLarge,
                ),
            )
        "#]],
        );
    }

    proptest::proptest! {
        /// Any text, including multi-byte characters after "AT", splits or is refused
        /// without panicking, and only a line without "AT" goes unanswered.
        #[test]
        fn never_panics(line in "\\PC{0,80}", prefix in "(AT|at|)") {
            let line = format!("{prefix}{line}");
            let has_prefix = line.to_ascii_uppercase().contains("AT");
            proptest::prop_assert_eq!(parse_line(&line).is_some(), has_prefix);
        }
    }
}
