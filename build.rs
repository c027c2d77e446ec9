//! Compiles the protos without a system `protoc`: protox parses them in Rust.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/lender.proto", "proto/admin.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
