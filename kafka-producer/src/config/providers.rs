//! Config providers (KIP-297, KIP-887), as Kafka ships them: values written
//! `${provider:path:key}` (or `${provider:key}`) are replaced at build by
//! what the named provider gives.
//!
//! ```text
//! config.providers=file,env
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! sasl.jaas.config=...PlainLoginModule required username="${env:KAFKA_USER}" password="${file:/etc/kafka/secrets.properties:password}";
//! ```
//!
//! - `FileConfigProvider`: `${file:<path>:<key>}`, the key of a Java
//!   properties file.
//! - `DirectoryConfigProvider`: `${dir:<directory>:<file>}`, a file's
//!   content.
//! - `EnvVarConfigProvider`: `${env:<variable>}`.
//!
//! `config.providers.<name>.param.allowed.paths` (KIP-993) limits the
//! files and directories the first two may read. A reference to a provider
//! that is not configured stays as written, as in Java; a missing file,
//! key or variable is an error (Java leaves the reference in place, which
//! then fails later and less clearly). No error quotes a value read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// `config.providers`.
pub const CONFIG_PROVIDERS: &str = "config.providers";

const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIR_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Whether `key` configures providers (`config.providers` and
/// `config.providers.<name>.class` / `.param.<p>`).
pub(super) fn is_provider_key(key: &str) -> bool {
    key == CONFIG_PROVIDERS || key.starts_with("config.providers.")
}

#[derive(Debug, Clone)]
enum Kind {
    File,
    Dir,
    Env,
}

#[derive(Debug, Clone)]
struct Provider {
    kind: Kind,
    /// `allowed.paths`: the paths a file or directory must be under.
    allowed: Option<Vec<PathBuf>>,
}

/// The providers configured by the provider keys given.
#[derive(Debug, Clone, Default)]
pub(super) struct Providers {
    providers: BTreeMap<String, Provider>,
}

impl Providers {
    /// The providers `props` (the provider keys only) configure.
    pub(super) fn from_props(props: &[(String, String)]) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            props
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| super::keys::java_trim(v))
        };
        let mut providers = BTreeMap::new();
        let names = get(CONFIG_PROVIDERS)
            .map(super::keys::java_list)
            .unwrap_or_default();
        for name in names {
            let class_key = format!("config.providers.{name}.class");
            let kind = match get(&class_key) {
                Some(FILE_CLASS) => Kind::File,
                Some(DIR_CLASS) => Kind::Dir,
                Some(ENV_CLASS) => Kind::Env,
                Some(other) => {
                    return Err(ConfigError::new(
                        [class_key.as_str()],
                        format!(
                            "{class_key}: {other} cannot be loaded here; the providers are \
                             Kafka's FileConfigProvider, DirectoryConfigProvider and EnvVarConfigProvider"
                        ),
                    ))
                }
                None => {
                    return Err(ConfigError::new(
                        [class_key.as_str()],
                        format!("config provider {name:?} needs {class_key}"),
                    ))
                }
            };
            let param = |p: &str| get(&format!("config.providers.{name}.param.{p}"));
            let allowed = param("allowed.paths").map(|paths| {
                super::keys::java_list(paths)
                    .into_iter()
                    .map(PathBuf::from)
                    .collect()
            });
            if matches!(kind, Kind::Env) && param("allowlist.pattern").is_some() {
                let key = format!("config.providers.{name}.param.allowlist.pattern");
                return Err(ConfigError::new(
                    [key.as_str()],
                    format!("{key}: patterns are not supported; leave it unset"),
                ));
            }
            providers.insert(name, Provider { kind, allowed });
        }
        Ok(Providers { providers })
    }

    /// `value` with every `${provider:[path:]key}` of a configured provider
    /// replaced; `key` is the property's, for errors.
    pub(super) fn resolve(&self, key: &str, value: &str) -> Result<String, ConfigError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let inner = &rest[start + 2..start + len];
            out.push_str(&rest[..start]);
            match self.lookup(key, inner)? {
                Some(resolved) => out.push_str(&resolved),
                None => out.push_str(&rest[start..=start + len]),
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// What `provider:[path:]key` names; `None` for a provider that is not
    /// configured (the reference stays).
    fn lookup(&self, key: &str, reference: &str) -> Result<Option<String>, ConfigError> {
        let Some((name, rest)) = reference.split_once(':') else {
            return Ok(None);
        };
        let Some(provider) = self.providers.get(name) else {
            return Ok(None);
        };
        let (path, item) = match rest.rsplit_once(':') {
            Some((path, item)) => (Some(path), item),
            None => (None, rest),
        };
        let fail = |why: String| {
            Err(ConfigError::new(
                [key],
                format!("{key}: ${{{name}:...}}: {why}"),
            ))
        };
        match provider.kind {
            Kind::Env => match std::env::var(item) {
                Ok(v) => Ok(Some(v)),
                Err(_) => fail(format!("environment variable {item:?} is not set")),
            },
            Kind::File | Kind::Dir => {
                let Some(path) = path.filter(|p| !p.is_empty()) else {
                    return fail("a path is needed: ${provider:path:key}".into());
                };
                let file = match provider.kind {
                    Kind::Dir => Path::new(path).join(item),
                    _ => PathBuf::from(path),
                };
                if let Some(allowed) = &provider.allowed {
                    if !allowed.iter().any(|a| file.starts_with(a)) {
                        return fail(format!("{} is not under allowed.paths", file.display()));
                    }
                }
                let text = match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
                };
                if matches!(provider.kind, Kind::Dir) {
                    return Ok(Some(text));
                }
                match java_properties(&text).remove(item) {
                    Some(v) => Ok(Some(v)),
                    None => fail(format!("no key {item:?} in {}", file.display())),
                }
            }
        }
    }
}

/// A Java properties file: `key=value`, `key: value` or `key value`
/// lines, `#` and `!` comments, backslash line continuations and escapes.
fn java_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let mut line = first.trim_start().to_string();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        while line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            line.pop();
            match lines.next() {
                Some(next) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        let mut key = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => key.push(unescape(&mut chars)),
                '=' | ':' => break,
                c if c.is_whitespace() => {
                    // Whitespace, then optionally one separator.
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                    if matches!(chars.peek(), Some('=' | ':')) {
                        chars.next();
                    }
                    break;
                }
                c => key.push(c),
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.push(unescape(&mut chars)),
                c => value.push(c),
            }
        }
        out.insert(key, value);
    }
    out
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    match chars.next() {
        Some('t') => '\t',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('f') => '\u{c}',
        Some('u') => {
            let hex: String = chars.by_ref().take(4).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
        }
        Some(c) => c,
        None => '\\',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn java_properties_are_read_as_java_reads_them() {
        let p = java_properties(
            "# comment\n! also\n a = 1\nb:2\nc 3\nlong = one \\\n    two\nesc = x\\=y\\u0041\\\\\nempty=\n",
        );
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "2");
        assert_eq!(p["c"], "3");
        assert_eq!(p["long"], "one two");
        assert_eq!(p["esc"], "x=yA\\");
        assert_eq!(p["empty"], "");
    }

    #[test]
    fn file_dir_and_env_references_resolve_and_failures_hide_the_values() {
        let dir = std::env::temp_dir().join(format!("kafka-providers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secrets.properties"), "password = s3cret\n").unwrap();
        std::fs::write(dir.join("token"), "t0ken-secret").unwrap();
        // A secret file outside the allowed paths.
        let outside = std::env::temp_dir().join(format!(
            "kafka-providers-outside-{}.properties",
            std::process::id()
        ));
        std::fs::write(&outside, "password = outs1de-secret\n").unwrap();
        std::env::set_var("KAFKA_PROVIDERS_TEST_USER", "alice");
        let file = dir.join("secrets.properties");
        let p = Providers::from_props(&props(&[
            (CONFIG_PROVIDERS, "file, dir,env"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.dir.class", DIR_CLASS),
            ("config.providers.env.class", ENV_CLASS),
            (
                "config.providers.file.param.allowed.paths",
                dir.to_str().unwrap(),
            ),
        ]))
        .unwrap();
        let v = format!(
            "u=${{env:KAFKA_PROVIDERS_TEST_USER}} p=${{file:{}:password}} t=${{dir:{}:token}} x=${{vault:a:b}}",
            file.display(),
            dir.display()
        );
        assert_eq!(
            p.resolve("k", &v).unwrap(),
            "u=alice p=s3cret t=t0ken-secret x=${vault:a:b}",
            "an unknown provider's reference stays"
        );
        // Each failing reference sits in a JAAS line beside a password
        // given inline, and points where a secret is: in the file read (a
        // key it lacks), outside the allowed paths, in the directory read
        // (a file it lacks). No error may show any of them.
        let secrets = ["inl1ne-secret", "s3cret", "outs1de-secret", "t0ken-secret"];
        for bad in [
            format!("${{file:{}:nope}}", file.display()),
            format!("${{file:{}:password}}", outside.display()),
            "${env:KAFKA_PROVIDERS_TEST_UNSET}".to_string(),
            format!("${{dir:{}:missing}}", dir.display()),
        ] {
            let line = format!(
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"{bad}\" password=\"inl1ne-secret\";"
            );
            let e = p.resolve("sasl.jaas.config", &line).unwrap_err();
            for secret in secrets {
                assert!(!e.to_string().contains(secret), "{secret}: {e}");
                assert!(!format!("{e:?}").contains(secret), "{secret}: {e:?}");
            }
            assert_eq!(e.keys, ["sasl.jaas.config"]);
        }
        std::fs::remove_file(&outside).unwrap();
        let e = Providers::from_props(&props(&[(CONFIG_PROVIDERS, "vault")])).unwrap_err();
        assert!(
            e.to_string().contains("config.providers.vault.class"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
