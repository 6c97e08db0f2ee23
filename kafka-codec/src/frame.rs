//! Kafka's size-prefixed frames as a tokio-util codec.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::CodecError;

/// Default maximum frame size: 100 MiB, the broker's `socket.request.max.bytes`.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// The most a partial frame's buffer grows by before more bytes arrived.
const RESERVE_STEP: usize = 64 * 1024;

/// Frames of `int32 size | size bytes`.
///
/// The decoder rejects a size prefix above `max_frame_size` before reserving
/// any memory for it, and never panics on partial input.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max_frame_size: usize,
}

impl FrameCodec {
    /// A codec that accepts frames up to `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        FrameCodec { max_frame_size }
    }

    /// The largest frame accepted.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if size < 0 {
            return Err(CodecError::NegativeFrameSize(size));
        }
        let size = size as usize;
        if size > self.max_frame_size {
            return Err(CodecError::FrameTooLarge {
                size,
                max: self.max_frame_size,
            });
        }
        if src.len() < 4 + size {
            // Grow with what arrived, not with what the prefix announces: a
            // peer that sends 4 bytes claiming 100 MiB gets 64 KiB, and
            // memory stays within twice the bytes received.
            let missing = 4 + size - src.len();
            src.reserve(missing.min(src.len().max(RESERVE_STEP)));
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(size)))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        if frame.len() > self.max_frame_size {
            return Err(CodecError::FrameTooLarge {
                size: frame.len(),
                max: self.max_frame_size,
            });
        }
        dst.reserve(4 + frame.len());
        dst.put_i32(frame.len() as i32);
        dst.put_slice(&frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_frames_wait_for_more() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::new();
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_slice(&[0, 0, 0, 3, b'a']);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_slice(b"bc");
        buf.put_slice(&[0, 0]);
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"abc");
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_slice(&[0, 0]);
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"");
    }

    #[test]
    fn oversized_and_negative_prefixes_are_errors_before_allocation() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::FrameTooLarge {
                size: 2147483647,
                max: 16
            })
        ));
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::NegativeFrameSize(-2))
        ));
    }

    #[test]
    fn a_large_announced_frame_reserves_as_its_bytes_arrive() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        buf.put_i32(100 * 1024 * 1024);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(
            buf.capacity() <= 2 * RESERVE_STEP,
            "4 bytes in, {} reserved",
            buf.capacity()
        );
        // As bytes arrive, the buffer grows at most twice what it holds.
        for _ in 0..8 {
            let len = buf.len();
            buf.put_bytes(0, buf.capacity() - len);
            assert!(codec.decode(&mut buf).unwrap().is_none());
            assert!(buf.capacity() <= 2 * buf.len() + 2 * RESERVE_STEP);
        }
    }

    #[test]
    fn encode_then_decode() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        codec
            .encode(Bytes::from_static(b"hello"), &mut buf)
            .unwrap();
        codec
            .encode(Bytes::from_static(b"world!"), &mut buf)
            .unwrap();
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"hello");
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"world!");
    }
}
