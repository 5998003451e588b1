//! Integration tests of the value crate against answers recorded from terraform 1.11.4.

mod number;
mod render;
