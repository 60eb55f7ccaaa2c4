// `sqlx::migrate!` embeds the migrations at compile time but cannot tell cargo
// about the files on stable Rust: without this, a new migration is silently
// missing from the binary until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
