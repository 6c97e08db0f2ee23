//! One module per built-in codec, each behind its cargo feature.

#[cfg(feature = "gzip")]
pub(crate) mod gzip;
#[cfg(feature = "lz4")]
pub(crate) mod lz4;
#[cfg(feature = "snappy")]
pub(crate) mod snappy;
#[cfg(feature = "zstd")]
pub(crate) mod zstd;
