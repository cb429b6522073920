//! The shared library's SONAME, `libomadm.so.0`: programs linked with it record that name, so
//! that a library whose C ABI changes can come under a new one beside the old.

/// The C ABI's version: raised when a change breaks programs built against the header.
const ABI: u32 = 0;

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libomadm.so.{ABI}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
