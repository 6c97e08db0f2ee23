//! A producer batch: records of one partition, built directly in wire form,
//! and the delivery replies of its records.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{set_producer_state, BatchParams, RecordBatchWriter, RecordsCodec};

use crate::error::ProducerError;
use crate::record::RecordMetadata;

/// Completes one record's delivery future.
pub type RecordReply = crate::delivery::DeliverySender;

/// Producer id, epoch and base sequence written into a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SequenceStamp {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

pub(crate) struct ProducerBatch {
    pub id: u64,
    writer: Option<RecordBatchWriter>,
    /// The finished batch (compressed, CRC'd), once drained.
    finished: Option<Bytes>,
    /// Reply, create-time timestamp and record id (for flushes) of each
    /// record, in offset order.
    pub replies: Vec<(RecordReply, i64, u64)>,
    /// Buffer memory held by the records, released when the batch completes.
    pub permits: usize,
    pub record_count: i32,
    pub created_at: Instant,
    pub attempts: u32,
    pub retry_at: Option<Instant>,
    pub in_flight: bool,
    pub stamp: Option<SequenceStamp>,
    /// An attempt ended without telling whether the broker wrote the batch
    /// (transport failure, timeout, NOT_ENOUGH_REPLICAS_AFTER_APPEND): until
    /// a definite answer it is retried only with its own stamp, which the
    /// broker recognises as a duplicate.
    pub maybe_written: bool,
    pub last_error: Option<Arc<str>>,
    /// No more records fit.
    pub full: bool,
    /// Uncompressed size, for request sizing.
    pub size: usize,
}

impl ProducerBatch {
    pub fn new(id: u64, capacity: usize, now: Instant) -> Self {
        ProducerBatch {
            id,
            writer: Some(RecordBatchWriter::new(capacity)),
            finished: None,
            replies: Vec::new(),
            permits: 0,
            record_count: 0,
            created_at: now,
            attempts: 0,
            retry_at: None,
            in_flight: false,
            stamp: None,
            maybe_written: false,
            last_error: None,
            full: false,
            size: kafka_protocol::records::BATCH_HEADER_SIZE,
        }
    }

    /// Whether a record of these parts fits within `batch_size` (an empty
    /// batch takes any record: oversized records get a batch of their own).
    pub fn fits<'h, H>(
        &self,
        batch_size: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
    ) -> bool
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
    {
        match &self.writer {
            Some(w) if !self.full => {
                w.is_empty() || w.size_after(timestamp, key, value, headers) <= batch_size
            }
            _ => false,
        }
    }

    #[allow(clippy::too_many_arguments)] // the record's parts, then its bookkeeping
    pub fn append<'h, H>(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
        reply: RecordReply,
        record_id: u64,
        permits: usize,
    ) -> Result<(), (kafka_protocol::ProtocolError, RecordReply)>
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        H::IntoIter: Clone,
    {
        let w = self.writer.as_mut().expect("append to an open batch");
        // A record the wire format cannot hold hands its reply back, so the
        // caller can fail it with a reason (and settle its memory).
        if let Err(e) = w.append(timestamp, key, value, headers) {
            return Err((e, reply));
        }
        self.size = w.size_in_bytes();
        self.record_count += 1;
        self.replies.push((reply, timestamp, record_id));
        self.permits += permits;
        Ok(())
    }

    pub fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// The wire bytes with `stamp` applied: finishes (and compresses) the
    /// batch on its first drain; later drains reuse the bytes and re-patch
    /// producer state only when it changed (after an epoch bump).
    pub fn wire_bytes(
        &mut self,
        stamp: Option<SequenceStamp>,
        codec: Option<&dyn RecordsCodec>,
    ) -> Result<Bytes, kafka_protocol::ProtocolError> {
        if let Some(w) = self.writer.take() {
            let params = match stamp {
                Some(s) => BatchParams {
                    producer_id: s.producer_id,
                    producer_epoch: s.producer_epoch,
                    base_sequence: s.base_sequence,
                    ..BatchParams::default()
                },
                None => BatchParams::default(),
            };
            self.finished = Some(w.finish(params, codec)?);
            self.stamp = stamp;
        } else if self.stamp != stamp {
            let bytes = self.finished.take().unwrap_or_default();
            let mut buf = bytes
                .try_into_mut()
                .unwrap_or_else(|b| BytesMut::from(&b[..]));
            let s = stamp.unwrap_or(SequenceStamp {
                producer_id: -1,
                producer_epoch: -1,
                base_sequence: -1,
            });
            set_producer_state(&mut buf, s.producer_id, s.producer_epoch, s.base_sequence)?;
            self.finished = Some(buf.freeze());
            self.stamp = stamp;
        }
        Ok(self.finished.clone().unwrap_or_default())
    }

    /// The finished bytes, if the batch was ever drained.
    pub fn finished(&self) -> Option<&Bytes> {
        self.finished.as_ref()
    }

    /// Completes every record with `f(index, create_time)`.
    pub fn complete(self, mut f: impl FnMut(usize, i64) -> Result<RecordMetadata, ProducerError>) {
        for (n, (reply, ts, _)) in self.replies.into_iter().enumerate() {
            reply.send(f(n, ts));
        }
    }
}
