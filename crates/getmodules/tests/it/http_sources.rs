//! HTTP sources.
