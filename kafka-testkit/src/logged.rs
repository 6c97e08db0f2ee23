//! What a piece of code logged: a `tracing` layer that keeps every event as
//! one line (its level, then each field as `name=value`), for tests that
//! check a warning was given, or that a secret was not.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

/// Every event logged while it is part of the subscriber, one line each.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let logged = kafka_testkit::logged::Logged::default();
/// let subscriber = tracing_subscriber::registry().with(logged.clone());
/// tracing::subscriber::with_default(subscriber, || tracing::warn!(key = "acks", "no effect"));
/// assert_eq!(logged.lines(), ["WARN message=no effect key=\"acks\""]);
/// ```
#[derive(Clone, Default)]
pub struct Logged(Arc<Mutex<Vec<String>>>);

impl Logged {
    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl<S: tracing::Subscriber> Layer<S> for Logged {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Line(String);
        impl Visit for Line {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
        }
        let mut line = Line(event.metadata().level().to_string());
        event.record(&mut line);
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.0);
    }
}
