//! SASL on a connection: SaslHandshake v1 then SaslAuthenticate round
//! trips, right after ApiVersions and before any other request; then
//! KIP-368 re-authentication on the same connection before the session the
//! broker granted runs out.
//!
//! Re-authentication takes the socket's writer for itself: it queues a
//! marker that makes the writer stop taking requests and write only the
//! SASL frames of a side queue until that queue closes. Requests written
//! before the marker are answered first (the broker handles one request at
//! a time per connection) and still reach their callers through the
//! correlation table; requests queued after it wait and go out afterwards,
//! in order. Nothing in flight fails.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use kafka_protocol::generated::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::messages::{ApiKey, Message, Request};
use kafka_protocol::primitives::StrBytes;
use kafka_protocol::ErrorCode;
use tokio::sync::mpsc;

use super::{start_request_via, Inner, WriteOp};
use crate::security::sasl::{self, Step};
use crate::security::SaslConfig;
use crate::versions::BrokerVersions;
use crate::CodecError;

/// A hostile broker could keep answering; no mechanism needs more round trips than this.
const MAX_ROUND_TRIPS: usize = 8;

async fn exchange<R: Request>(
    inner: &Inner,
    request: &R,
    version: i16,
    writes: &mpsc::UnboundedSender<WriteOp>,
) -> Result<R::Response, CodecError> {
    let body = start_request_via(inner, R::API_KEY, version, request, writes)?
        .wait(inner, inner.config.request_timeout)
        .await?;
    Ok(R::Response::decode(&body, version)?)
}

/// Authenticates the connection; the session's lifetime when the broker set one.
pub(super) async fn authenticate(
    inner: &Inner,
    versions: &BrokerVersions,
    config: &SaslConfig,
    writes: &mpsc::UnboundedSender<WriteOp>,
) -> Result<Option<Duration>, CodecError> {
    let mechanism = config.mechanism();
    let fail = |reason: String| CodecError::Authentication {
        peer: inner.peer.clone(),
        mechanism,
        reason,
    };
    // v1 wraps every token in SaslAuthenticate; v0's raw tokens are not spoken here.
    let handshake_version = versions.negotiate(ApiKey::SaslHandshake)?;
    if handshake_version < 1 {
        return Err(fail(
            "the broker speaks only SaslHandshake v0 (Kafka before 1.0); not supported".into(),
        ));
    }
    let handshake: SaslHandshakeResponse = exchange(
        inner,
        &SaslHandshakeRequest {
            mechanism: StrBytes::from(mechanism),
        },
        handshake_version,
        writes,
    )
    .await?;
    match ErrorCode(handshake.error_code) {
        ErrorCode::NONE => {}
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
            let enabled: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(fail(format!(
                "the broker does not enable {mechanism} on this listener; it enables {enabled:?}"
            )));
        }
        ErrorCode::ILLEGAL_SASL_STATE => {
            return Err(fail(
                "the broker refuses a SASL handshake here: the listener has no SASL (PLAINTEXT or SSL?), or a re-authentication came too soon".into(),
            ))
        }
        code => return Err(fail(format!("SaslHandshake failed with {code}"))),
    }

    let token = match config {
        SaslConfig::OAuthBearer(provider) => {
            // A provider is the application's code: a panic in it fails this
            // connection attempt with a reason instead of ending the task.
            let token = std::panic::AssertUnwindSafe(provider.token())
                .catch_unwind()
                .await
                .map_err(|p| {
                    let what = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".into());
                    CodecError::TokenProvider(format!("the token provider panicked: {what}"))
                })?;
            Some(token.map_err(|e| {
                if e.permanent {
                    fail(format!("no OAUTHBEARER token: {}", e.message))
                } else {
                    CodecError::TokenProvider(e.message)
                }
            })?)
        }
        _ => None,
    };
    let mut mech = sasl::mechanism(config, token).map_err(fail)?;
    let mut message = mech.start().map_err(fail)?;
    let version = versions.negotiate(ApiKey::SaslAuthenticate)?;
    for _ in 0..MAX_ROUND_TRIPS {
        let response: SaslAuthenticateResponse = exchange(
            inner,
            &SaslAuthenticateRequest {
                auth_bytes: message.into(),
                ..Default::default()
            },
            version,
            writes,
        )
        .await?;
        let code = ErrorCode(response.error_code);
        if code != ErrorCode::NONE {
            let said = response
                .error_message
                .as_ref()
                .map(|m| m.as_str())
                .filter(|m| !m.is_empty());
            return Err(fail(match said {
                Some(m) => format!("{code}: {m}"),
                None => code.to_string(),
            }));
        }
        match mech.step(&response.auth_bytes).map_err(fail)? {
            Step::Respond(next) => message = next,
            Step::Done => {
                let ms = response.session_lifetime_ms;
                return Ok((ms > 0).then(|| Duration::from_millis(ms as u64)));
            }
        }
    }
    Err(fail(format!(
        "no outcome after {MAX_ROUND_TRIPS} round trips"
    )))
}

/// When to re-authenticate: at a random point between 85 % and 95 % of the
/// session (as the Java client), at least a second before it ends.
pub(crate) fn reauth_delay(lifetime: Duration, unit_random: f64) -> Duration {
    let at = lifetime.mul_f64(0.85 + 0.10 * unit_random.clamp(0.0, 1.0));
    at.min(lifetime.saturating_sub(Duration::from_secs(1)))
        .max(lifetime / 2)
}

fn unit_random() -> f64 {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u32::from_le_bytes(b) as f64 / u32::MAX as f64
}

/// Re-authenticates before each session ends, for as long as the connection lives.
pub(super) async fn reauth_loop(
    inner: Weak<Inner>,
    versions: Arc<BrokerVersions>,
    config: SaslConfig,
    mut lifetime: Duration,
) {
    loop {
        tokio::time::sleep(reauth_delay(lifetime, unit_random())).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.shared.lock().closed.is_some() {
            return;
        }
        let (side, side_rx) = mpsc::unbounded_channel();
        if inner.writes.send(WriteOp::Exclusive(side_rx)).is_err() {
            return;
        }
        let outcome = authenticate(&inner, &versions, &config, &side).await;
        // Closing the side queue hands the writer back to the requests.
        drop(side);
        match outcome {
            Ok(Some(next)) => {
                inner
                    .shared
                    .reauthentications
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(peer = %inner.peer, session = ?next, "re-authenticated");
                lifetime = next;
            }
            Ok(None) => {
                inner
                    .shared
                    .reauthentications
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::warn!(peer = %inner.peer, error = %e, "re-authentication failed; closing the connection");
                inner.shared.fail(&format!("re-authentication failed: {e}"));
                inner.abort_tasks();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reauth_between_85_and_95_percent_and_before_the_end() {
        let l = Duration::from_secs(100);
        assert_eq!(reauth_delay(l, 0.0), Duration::from_secs(85));
        assert_eq!(reauth_delay(l, 1.0), Duration::from_secs(95));
        let short = Duration::from_millis(1500);
        assert_eq!(reauth_delay(short, 1.0), Duration::from_millis(750));
        assert_eq!(
            reauth_delay(Duration::from_secs(5), 0.5),
            Duration::from_secs(4)
        );
    }
}
