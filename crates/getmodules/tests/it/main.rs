//! Integration tests of module installation against real git repositories (on disk, and
//! behind `git http-backend`), archives and `X-Terraform-Get` pages from a local HTTP server,
//! and a module registry served over HTTPS with a self-signed certificate.

mod fixtures;
mod git_sources;
mod http_sources;
mod registry;
mod server;
