//! PLAIN (RFC 4616): one message, `authzid NUL authcid NUL password`, with
//! an empty authzid as the Java client sends.

use super::{Mechanism, Step};

pub(crate) struct Plain {
    message: Vec<u8>,
}

impl Plain {
    pub(crate) fn new(username: &str, password: &str) -> Self {
        let mut message = Vec::with_capacity(username.len() + password.len() + 2);
        message.push(0);
        message.extend_from_slice(username.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        Plain { message }
    }
}

impl Mechanism for Plain {
    fn start(&mut self) -> Result<Vec<u8>, String> {
        Ok(std::mem::take(&mut self.message))
    }

    fn step(&mut self, _server: &[u8]) -> Result<Step, String> {
        // The broker's error code says whether it worked; it sends no data.
        Ok(Step::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_then_done() {
        let mut m = Plain::new("alice", "alice-secret");
        assert_eq!(m.start().unwrap(), b"\0alice\0alice-secret");
        assert_eq!(m.step(b"").unwrap(), Step::Done);
    }
}
