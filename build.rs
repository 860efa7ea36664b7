//! Compiles kernels/*.cu with nvcc when the `cuda` feature is on (filled by the GPU issue).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
