//! `banctl`: coming in its own issue.
fn main() {
    eprintln!("banctl is not built yet");
    std::process::exit(2);
}
