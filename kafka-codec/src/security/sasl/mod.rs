//! SASL mechanisms as pure state machines: each turns the server's last
//! message into the client's next one. The connection drives them over
//! SaslHandshake v1 + SaslAuthenticate (see `connection::auth`).

mod oauth;
mod plain;
mod scram;

pub(crate) use oauth::OAuthBearer;
pub(crate) use plain::Plain;
pub(crate) use scram::Scram;

use super::SaslConfig;

/// What the client does after a server message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send these bytes in the next SaslAuthenticate.
    Respond(Vec<u8>),
    /// Authenticated (as far as the client can tell; the broker's error code decides).
    Done,
}

/// One authentication exchange of one mechanism.
pub(crate) trait Mechanism: Send {
    /// The client's first message.
    fn start(&mut self) -> Result<Vec<u8>, String>;
    /// The server's answer to the last message (empty when it had nothing to say).
    fn step(&mut self, server: &[u8]) -> Result<Step, String>;
}

/// A fresh exchange for `config`. OAUTHBEARER's token is fetched by the
/// caller (it is async) and handed in.
pub(crate) fn mechanism(
    config: &SaslConfig,
    token: Option<super::OAuthToken>,
) -> Result<Box<dyn Mechanism>, String> {
    Ok(match config {
        SaslConfig::Plain { username, password } => {
            Box::new(Plain::new(username, password.expose()))
        }
        SaslConfig::Scram {
            mechanism,
            username,
            password,
        } => Box::new(Scram::new(*mechanism, username, password.expose())?),
        SaslConfig::OAuthBearer(_) => {
            let token = token.ok_or("no OAUTHBEARER token")?;
            Box::new(OAuthBearer::new(&token)?)
        }
    })
}
