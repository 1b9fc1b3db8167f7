//! Escaping values into unit files, so that systemd hands podman exactly the
//! argv a definition meant.
//!
//! Rules (systemd.service(5) "Command lines", systemd.unit(5) "Specifiers"):
//! - a command line is split into words at whitespace; a word may be quoted
//!   with `"…"`, inside which C escapes (`\\`, `\"`, `\n`, `\t`, `\xNN`, …)
//!   are decoded;
//! - `%` starts a specifier in every setting that takes them: `%%` is a
//!   literal `%`;
//! - in `Exec*=` lines `$NAME`/`${NAME}` are replaced at exec time: `$$` is a
//!   literal `$`;
//! - a lone unquoted `;` separates commands; a quoted one does not.
//!
//! NUL cannot be carried by any of these (nor by an argv); it is rejected,
//! never dropped.

use std::fmt::Write;

/// A value systemd cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// What was wrong, phrased as a rule.
    pub rule: &'static str,
}

impl std::fmt::Display for EscapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.rule)
    }
}

const NUL: EscapeError = EscapeError {
    rule: "contains NUL (U+0000), which no unit file or argv can carry",
};

/// Characters a word may hold without quoting (besides `%`/`$`, which are
/// doubled either way). Deliberately small: anything else is quoted.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+-=:,./@".contains(c)
}

/// Escapes one argv word for an `Exec*=` line.
///
/// Output is the word unquoted when it holds only plain characters, else
/// double-quoted with C escapes; `%` → `%%`, `$` → `$$` in both forms.
/// An empty word becomes `""`.
///
/// Errors: the word contains NUL.
pub fn exec_word(word: &str) -> Result<String, EscapeError> {
    word_impl(word, true)
}

/// Escapes one word of a whitespace-separated list setting that expands
/// specifiers but not `$` (e.g. `RequiresMountsFor=`).
///
/// Errors: the word contains NUL.
pub fn list_word(word: &str) -> Result<String, EscapeError> {
    word_impl(word, false)
}

/// systemd refuses Unicode non-characters (U+FDD0..U+FDEF and every
/// U+xFFFE/U+xFFFF) anywhere in a unit file, escaped or not
/// (`unichar_is_valid()` in systemd's utf8.c).
fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xFDD0..=0xFDEF).contains(&c) || (c & 0xFFFE) == 0xFFFE
}

const NONCHARACTER: EscapeError = EscapeError {
    rule: "contains a Unicode non-character (such as U+FFFE), which systemd refuses in unit files",
};

fn check_carriable(word: &str) -> Result<(), EscapeError> {
    if word.contains('\0') {
        return Err(NUL);
    }
    if word.chars().any(is_noncharacter) {
        return Err(NONCHARACTER);
    }
    Ok(())
}

fn word_impl(word: &str, dollar: bool) -> Result<String, EscapeError> {
    check_carriable(word)?;
    let plain = !word.is_empty() && word.chars().all(|c| is_plain(c) || c == '%' || c == '$');
    let mut out = String::with_capacity(word.len() + 2);
    if !plain {
        out.push('"');
    }
    for c in word.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if dollar => out.push_str("$$"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // C1 controls and other non-ASCII text go through as UTF-8.
            c => out.push(c),
        }
    }
    if !plain {
        out.push('"');
    }
    Ok(out)
}

/// Escapes a whole command line: each word through [`exec_word`], joined by
/// single spaces.
///
/// Errors: a word contains NUL.
pub fn exec_line<S: AsRef<str>>(argv: &[S]) -> Result<String, EscapeError> {
    let mut out = String::new();
    for (i, w) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&exec_word(w.as_ref())?);
    }
    Ok(out)
}

/// Escapes a value for a setting that takes the rest of the line verbatim
/// but expands specifiers (`Description=`, `SourcePath=`): `%` → `%%`.
///
/// Errors: the value contains a control character (a newline would end the
/// setting; systemd has no escape for it there).
pub fn specifier_value(value: &str) -> Result<String, EscapeError> {
    check_carriable(value)?;
    if value.chars().any(char::is_control) {
        return Err(EscapeError {
            rule: "contains a control character, which this unit setting cannot carry",
        });
    }
    Ok(value.replace('%', "%%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(exec_word("--name=berth-web").unwrap(), "--name=berth-web");
        assert_eq!(exec_word("127.0.0.1:8080:80").unwrap(), "127.0.0.1:8080:80");
        assert_eq!(exec_word("a%b$c").unwrap(), "a%%b$$c");
    }

    #[test]
    fn special_words_are_quoted_and_escaped() {
        assert_eq!(exec_word("").unwrap(), "\"\"");
        assert_eq!(exec_word("a b").unwrap(), "\"a b\"");
        assert_eq!(exec_word(";").unwrap(), "\";\"");
        assert_eq!(exec_word("q\"q").unwrap(), "\"q\\\"q\"");
        assert_eq!(exec_word("b\\s").unwrap(), "\"b\\\\s\"");
        assert_eq!(exec_word("l1\nl2").unwrap(), "\"l1\\nl2\"");
        assert_eq!(exec_word("\u{1}").unwrap(), "\"\\x01\"");
        assert_eq!(exec_word("\u{7f}").unwrap(), "\"\\x7f\"");
        assert_eq!(exec_word("'s'").unwrap(), "\"'s'\"");
        assert_eq!(exec_word("é").unwrap(), "\"é\"");
        assert_eq!(exec_word("$HOME %n").unwrap(), "\"$$HOME %%n\"");
    }

    #[test]
    fn noncharacters_are_rejected() {
        for c in [
            '\u{fffe}',
            '\u{ffff}',
            '\u{fdd0}',
            '\u{1fffe}',
            '\u{10ffff}',
        ] {
            assert!(exec_word(&format!("a{c}")).is_err(), "{c:?}");
        }
        assert!(exec_word("\u{fdcf}\u{fdf0}\u{fffd}").is_ok());
    }

    #[test]
    fn nul_is_rejected_everywhere() {
        assert!(exec_word("a\0b").is_err());
        assert!(list_word("a\0b").is_err());
        assert!(specifier_value("a\0b").is_err());
    }

    #[test]
    fn list_words_keep_dollars() {
        assert_eq!(list_word("/srv/a$b").unwrap(), "/srv/a$b");
        assert_eq!(list_word("/srv/my data%").unwrap(), "\"/srv/my data%%\"");
    }

    #[test]
    fn specifier_values_reject_newlines() {
        assert_eq!(specifier_value("/etc/a%b.json").unwrap(), "/etc/a%%b.json");
        assert!(specifier_value("a\nb").is_err());
    }
}
