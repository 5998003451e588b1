//! Integration tests of the value crate against answers recorded from terraform 1.11.4, and
//! property tests of its codecs and conversions.

mod convert;
mod number;
mod props;
mod render;
