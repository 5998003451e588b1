//! Compiles the vendored Terraform plugin protocol and go-plugin protos with protox (no protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tfplugin5.proto",
        "proto/tfplugin6.proto",
        "proto/grpc_controller.proto",
        "proto/grpc_stdio.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        // Servers are generated too so tests can stand in for a plugin in-process.
        .build_server(true)
        .generate_default_stubs(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
