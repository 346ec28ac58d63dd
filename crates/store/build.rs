//! `embed_migrations!` reads `migrations/` while this crate compiles, but cargo does not know
//! that: without this, a new migration directory is not embedded until something else in the
//! crate changes (diesel_migrations' documentation asks for this build script).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
