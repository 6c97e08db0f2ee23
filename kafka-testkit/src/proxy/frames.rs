//! What the proxy reads of the frames going by: where each frame starts
//! and its header, and the Produce responses it rewrites whole.

use kafka_protocol::messages::ApiKey;

/// A Produce response frame being gathered to be answered with an error.
#[derive(Debug)]
pub(super) struct Rewrite {
    /// Stream positions of the frame (its size prefix included).
    pub start: u64,
    pub end: u64,
    pub version: i16,
    pub code: i16,
    pub frame: Vec<u8>,
}

impl Rewrite {
    /// The frame with every partition answered `code`; `None` when the
    /// response does not decode (it then goes through as it was).
    pub(super) fn rewritten(&self) -> Option<Vec<u8>> {
        use bytes::Bytes;
        use kafka_protocol::generated::{ProduceResponse, ResponseHeader};
        use kafka_protocol::messages::{Decodable, Encodable, Message};

        let header_version = ApiKey::Produce.response_header_version(self.version);
        let owner = Bytes::copy_from_slice(self.frame.get(4..)?);
        let (body, header) = ResponseHeader::decode_from(&owner, &owner, header_version).ok()?;
        let mut response = ProduceResponse::decode(&owner.slice_ref(body), self.version).ok()?;
        for topic in &mut response.responses {
            for p in &mut topic.partition_responses {
                p.error_code = self.code;
                p.base_offset = -1;
                p.log_append_time_ms = -1;
            }
        }
        let mut out = vec![0u8; 4];
        header.encode(&mut out, header_version).ok()?;
        response.encode(&mut out, self.version).ok()?;
        let size = i32::try_from(out.len() - 4).ok()?;
        out[..4].copy_from_slice(&size.to_be_bytes());
        Some(out)
    }
}

/// Follows the frames of one direction of a Kafka connection (a 4-byte
/// size prefix, then the frame) and reports each frame once its first
/// `header_len` bytes (prefix included) went by.
#[derive(Debug)]
pub(super) struct FrameTracker {
    header_len: usize,
    /// Bytes of the stream seen so far.
    position: u64,
    /// Where the current frame started, and its length with the prefix.
    frame_start: u64,
    frame_len: Option<u64>,
    header: Vec<u8>,
}

impl FrameTracker {
    pub(super) fn new(header_len: usize) -> Self {
        FrameTracker {
            header_len,
            position: 0,
            frame_start: 0,
            frame_len: None,
            header: Vec::with_capacity(header_len),
        }
    }

    pub(super) fn position(&self) -> u64 {
        self.position
    }

    /// Feeds the next bytes; `on_header(frame_start, frame_len, header)` per
    /// frame whose header completed in them.
    pub(super) fn feed(&mut self, mut data: &[u8], mut on_header: impl FnMut(u64, u64, &[u8])) {
        while !data.is_empty() {
            if self.header.len() < self.header_len {
                let take = (self.header_len - self.header.len()).min(data.len());
                self.header.extend_from_slice(&data[..take]);
                self.position += take as u64;
                data = &data[take..];
                if self.header.len() >= 4 && self.frame_len.is_none() {
                    let size = i32::from_be_bytes([
                        self.header[0],
                        self.header[1],
                        self.header[2],
                        self.header[3],
                    ]);
                    // A negative size is not Kafka; treat it as an empty frame.
                    self.frame_len = Some(4 + u64::from(size.max(0) as u32));
                }
                if self.header.len() == self.header_len {
                    let len = self.frame_len.unwrap_or(4);
                    on_header(self.frame_start, len, &self.header);
                }
            } else {
                let end = self.frame_start + self.frame_len.unwrap_or(4);
                let take = (end.saturating_sub(self.position)).min(data.len() as u64) as usize;
                self.position += take as u64;
                data = &data[take..];
            }
            let end = self
                .frame_start
                .saturating_add(self.frame_len.unwrap_or(u64::MAX));
            if self.header.len() == self.header_len && self.position >= end {
                self.frame_start = self.position;
                self.frame_len = None;
                self.header.clear();
            }
        }
    }
}
