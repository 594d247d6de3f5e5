//! Splitting the argument part of a response line (`"SM",3,,"MMS PUSH"`) into fields.
//! Quoted strings may contain commas; an unterminated quote runs to the end of the line
//! (line noise must not make the parser fail where a modem's meaning is still clear).

/// One comma-separated field of a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Nothing between two commas (an omitted optional parameter).
    Empty,
    /// A quoted string, without its quotes.
    Quoted(String),
    /// Anything else (numbers, unquoted words), trimmed.
    Bare(String),
}

impl Field {
    /// The text of the field, quoted or not; `None` when empty.
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Empty => None,
            Field::Quoted(text) | Field::Bare(text) => Some(text),
        }
    }

    /// The field as an unsigned number, if it is one.
    pub fn number(&self) -> Option<u32> {
        match self {
            Field::Bare(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// Splits `args` at commas outside quotes.
pub fn split(args: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted: Option<String> = None;
    let mut in_quotes = false;
    for c in args.chars() {
        match c {
            '"' if in_quotes => in_quotes = false,
            '"' if current.trim().is_empty() && quoted.is_none() => {
                in_quotes = true;
                quoted = Some(String::new());
            }
            ',' if !in_quotes => {
                fields.push(finish(&mut current, &mut quoted));
            }
            c if in_quotes => {
                if let Some(q) = quoted.as_mut() {
                    q.push(c);
                }
            }
            c => current.push(c),
        }
    }
    fields.push(finish(&mut current, &mut quoted));
    fields
}

fn finish(current: &mut String, quoted: &mut Option<String>) -> Field {
    let field = match quoted.take() {
        Some(text) => Field::Quoted(text),
        None if current.trim().is_empty() => Field::Empty,
        None => Field::Bare(current.trim().to_owned()),
    };
    current.clear();
    field
}

/// Splits a response line `+NAME: args` into `("+NAME", "args")`. Lines without a colon
/// give the whole line as the name and empty arguments (`RING`, `^SMMEMFULL`).
pub fn name_and_args(line: &str) -> (&str, &str) {
    match line.split_once(':') {
        Some((name, args)) => (name.trim(), args.trim()),
        None => (line.trim(), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_bare_fields() {
        assert_eq!(
            split(r#""SM",1,"MMS PUSH",2,1"#),
            vec![
                Field::Quoted("SM".into()),
                Field::Bare("1".into()),
                Field::Quoted("MMS PUSH".into()),
                Field::Bare("2".into()),
                Field::Bare("1".into()),
            ]
        );
        assert_eq!(split(",23"), vec![Field::Empty, Field::Bare("23".into())]);
        assert_eq!(
            split(r#""a,b",, 7 "#),
            vec![
                Field::Quoted("a,b".into()),
                Field::Empty,
                Field::Bare("7".into())
            ]
        );
        assert_eq!(split(r#""open"#), vec![Field::Quoted("open".into())]);
    }
}
