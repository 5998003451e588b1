//! Integration tests of the remote state backends against real servers (moto, PostgreSQL, a
//! state server speaking Terraform's http protocol) and, where installed, Terraform itself.

mod backend_state;
mod bench;
mod common;
mod http;
mod pg;
mod s3;
