//! Integration tests of `weir proxy`: real listeners and backends on 127.0.0.1 ephemeral ports.

mod admin;
mod health;
mod metrics;
mod routing;
mod support;
mod swap;
mod tls;
