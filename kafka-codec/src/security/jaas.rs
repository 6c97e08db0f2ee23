//! `sasl.jaas.config`: the JAAS line Java users paste, read the way the
//! Java client's `JaasConfig` reads it (Java's `StreamTokenizer` rules).
//!
//! ```text
//! <LoginModuleClass> <flag> (<key>=<value>)* ;
//! ```
//!
//! Values are quoted with `"` or `'` (with Java escapes) or bare words of
//! letters, digits, `.`, `-`, `_` and `$`; a bare number is an error (quote
//! it), as in Java. `//` and `/* */` comments are skipped. A client takes
//! exactly one login module.

use std::fmt;

use super::Secret;

/// One parsed `sasl.jaas.config` entry. `Debug` shows the option names
/// only: values may be passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    /// The login module class, such as
    /// `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub login_module: String,
    /// `required`, `requisite`, `sufficient` or `optional` (lower case).
    pub flag: String,
    options: Vec<(String, Secret)>,
}

impl JaasConfig {
    /// The value of option `key`, if given.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.expose())
    }

    /// The option names, in order.
    pub fn option_names(&self) -> impl Iterator<Item = &str> {
        self.options.iter().map(|(k, _)| k.as_str())
    }

    /// The last part of the login module's class name (`PlainLoginModule`).
    pub fn module_name(&self) -> &str {
        self.login_module
            .rsplit('.')
            .next()
            .unwrap_or(&self.login_module)
    }
}

impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JaasConfig")
            .field("login_module", &self.login_module)
            .field("flag", &self.flag)
            .field("options", &self.option_names().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Number,
    Char(char),
}

struct Tokens<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$' || (c as u32) >= 160
}

fn is_word_char(c: char) -> bool {
    is_word_start(c) || c.is_ascii_digit() || c == '.' || c == '-'
}

impl Tokens<'_> {
    fn next_token(&mut self) -> Result<Option<Token>, String> {
        loop {
            let Some(c) = self.rest.next() else {
                return Ok(None);
            };
            if c.is_whitespace() || (c as u32) < 32 {
                continue;
            }
            if c == '/' {
                match self.rest.peek() {
                    Some('/') => {
                        for c in self.rest.by_ref() {
                            if c == '\n' || c == '\r' {
                                break;
                            }
                        }
                        continue;
                    }
                    Some('*') => {
                        self.rest.next();
                        let mut last = '\0';
                        loop {
                            match self.rest.next() {
                                None => return Err("unterminated /* comment".into()),
                                Some('/') if last == '*' => break,
                                Some(c) => last = c,
                            }
                        }
                        continue;
                    }
                    // A lone '/' is a comment character in StreamTokenizer: the rest of the line is skipped.
                    _ => {
                        for c in self.rest.by_ref() {
                            if c == '\n' || c == '\r' {
                                break;
                            }
                        }
                        continue;
                    }
                }
            }
            if c == '"' || c == '\'' {
                return self.quoted(c).map(|s| Some(Token::Quoted(s)));
            }
            if c.is_ascii_digit() || c == '.' || c == '-' {
                while self.rest.peek().is_some_and(|&c| is_word_char(c)) {
                    self.rest.next();
                }
                return Ok(Some(Token::Number));
            }
            if is_word_start(c) {
                let mut word = String::from(c);
                while let Some(&c) = self.rest.peek().filter(|&&c| is_word_char(c)) {
                    word.push(c);
                    self.rest.next();
                }
                return Ok(Some(Token::Word(word)));
            }
            return Ok(Some(Token::Char(c)));
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.rest.next() {
                // Java ends a quoted string at the end of the line as well.
                None | Some('\n') | Some('\r') => return Err("unterminated quoted value".into()),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => {
                    let Some(e) = self.rest.next() else {
                        return Err("unterminated quoted value".into());
                    };
                    match e {
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'v' => out.push('\u{b}'),
                        '0'..='7' => {
                            let mut v = e as u32 - '0' as u32;
                            let max_digits = if e <= '3' { 2 } else { 1 };
                            for _ in 0..max_digits {
                                match self.rest.peek() {
                                    Some(&d @ '0'..='7') => {
                                        v = v * 8 + (d as u32 - '0' as u32);
                                        self.rest.next();
                                    }
                                    _ => break,
                                }
                            }
                            out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(other),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }
}

/// Parses a `sasl.jaas.config` value into its one login module entry.
/// Errors name the problem but never quote a value.
///
/// ```
/// use kafka_codec::security::parse_jaas_config;
/// let jaas = parse_jaas_config(
///     r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr=t;";"#,
/// ).unwrap();
/// assert_eq!(jaas.module_name(), "ScramLoginModule");
/// assert_eq!(jaas.option("username"), Some("alice"));
/// assert_eq!(jaas.option("password"), Some("s3cr=t;"));
/// assert!(!format!("{jaas:?}").contains("s3cr"));
/// ```
pub fn parse_jaas_config(text: &str) -> Result<JaasConfig, String> {
    let mut tokens = Tokens {
        rest: text.chars().peekable(),
    };
    let mut entries = Vec::new();
    while let Some(first) = tokens.next_token()? {
        let Token::Word(login_module) = first else {
            return Err("sasl.jaas.config must start with a login module class name".into());
        };
        let flag = match tokens.next_token()? {
            Some(Token::Word(f))
                if ["required", "requisite", "sufficient", "optional"]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(&f)) =>
            {
                f.to_ascii_lowercase()
            }
            _ => {
                return Err(format!(
                    "sasl.jaas.config: {login_module} must be followed by a control flag (required, requisite, sufficient or optional)"
                ))
            }
        };
        let mut options: Vec<(String, Secret)> = Vec::new();
        loop {
            match tokens.next_token()? {
                Some(Token::Char(';')) => break,
                None => return Err("sasl.jaas.config must end with ';'".into()),
                Some(Token::Word(key)) => {
                    if tokens.next_token()? != Some(Token::Char('=')) {
                        return Err(format!("sasl.jaas.config: option {key} must be followed by '='"));
                    }
                    let value = match tokens.next_token()? {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => v,
                        Some(Token::Number) => {
                            return Err(format!(
                                "sasl.jaas.config: the value of {key} reads as a number; quote it"
                            ))
                        }
                        _ => return Err(format!("sasl.jaas.config: no value for option {key}")),
                    };
                    options.retain(|(k, _)| *k != key);
                    options.push((key, Secret::new(value)));
                }
                Some(_) => {
                    return Err(format!(
                        "sasl.jaas.config: unexpected text in the options of {login_module} (quote values that hold other characters)"
                    ))
                }
            }
        }
        entries.push(JaasConfig {
            login_module,
            flag,
            options,
        });
    }
    match entries.len() {
        1 => Ok(entries.remove(0)),
        0 => Err("sasl.jaas.config is empty".into()),
        n => Err(format!(
            "sasl.jaas.config holds {n} login modules; a client takes exactly one"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_lines_users_paste() {
        let j = parse_jaas_config(
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";",
        )
        .unwrap();
        assert_eq!(
            j.login_module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(j.flag, "required");
        assert_eq!(j.option("username"), Some("alice"));
        assert_eq!(j.option("password"), Some("alice-secret"));
        assert_eq!(j.option("other"), None);

        // Bare words, single quotes, escapes, comments, flag case, line breaks.
        let j = parse_jaas_config(
            "// a comment\n org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED\n  username=svc_user-1.a /* inline */ password='it\\'s \\\"q\\\" \\n\\101';",
        )
        .unwrap();
        assert_eq!(j.flag, "required");
        assert_eq!(j.option("username"), Some("svc_user-1.a"));
        assert_eq!(j.option("password"), Some("it's \"q\" \nA"));
        assert_eq!(j.module_name(), "ScramLoginModule");
    }

    #[test]
    fn errors_say_what_and_never_quote_values() {
        let cases = [
            ("", "empty"),
            (
                "Mod required username=\"u\" password=\"hunter2\"",
                "end with ';'",
            ),
            ("Mod required username=\"u\" password=12345;", "number"),
            ("Mod maybe username=\"u\";", "control flag"),
            ("Mod required username \"hunter2\";", "'='"),
            ("Mod required password=\"hunter2;", "unterminated"),
            ("A required; B required;", "exactly one"),
            ("Mod required password=\"hunter2\" , x=\"y\";", "unexpected"),
            ("\"hunter2\" required;", "login module"),
            ("Mod required x=\"y\"; /* hunter2", "unterminated"),
        ];
        for (text, want) in cases {
            let e = parse_jaas_config(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("hunter2"), "{text:?}: {e}");
            assert!(!e.contains("12345"), "{text:?}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn quoted_values_round_trip(user in "[ -~]{0,20}", pass in "[ -~]{1,40}") {
            let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
            let text = format!(
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{}\" password=\"{}\";",
                esc(&user), esc(&pass)
            );
            let j = parse_jaas_config(&text).unwrap();
            proptest::prop_assert_eq!(j.option("username"), Some(user.as_str()));
            proptest::prop_assert_eq!(j.option("password"), Some(pass.as_str()));
            proptest::prop_assert_eq!(
                format!("{j:?}"),
                "JaasConfig { login_module: \"org.apache.kafka.common.security.plain.PlainLoginModule\", flag: \"required\", options: [\"username\", \"password\"] }"
            );
        }

        #[test]
        fn never_panics(text in "\\PC{0,80}") {
            let _ = parse_jaas_config(&text);
        }
    }
}
