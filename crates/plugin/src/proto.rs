//! Generated protobuf/gRPC client code for the plugin protocols (built by build.rs from the
//! vendored `.proto` files).

#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]

pub mod tfplugin5 {
    tonic::include_proto!("tfplugin5");
}
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}
/// go-plugin's controller and stdio services.
pub mod goplugin {
    tonic::include_proto!("plugin");
}
