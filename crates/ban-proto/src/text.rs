//! Text from the service or from input, made safe to print and to keep.

/// The most bytes of a service's `ErrorInfo` an error keeps (the rest is
/// cut, and an ellipsis says so).
pub const MAX_INFO_BYTES: usize = 256;

/// Writes `s` with every character that could move the cursor, colour a
/// terminal or reorder text (control characters, ANSI escapes, bidi
/// overrides, zero-width and other format characters) replaced by its
/// `\u{..}` escape, and `\` doubled, so the output can always be read back
/// unambiguously. Printable text, non-ASCII letters included, is kept.
///
/// ```
/// assert_eq!(ban_proto::escape("raider\u{1b}[31m1"), "raider\\u{1b}[31m1");
/// assert_eq!(ban_proto::escape("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
/// assert_eq!(ban_proto::escape("café \"ok\""), "café \"ok\"");
/// ```
pub fn escape(s: &str) -> String {
    escape_bounded(s, usize::MAX)
}

/// [`escape`], keeping at most `max_bytes` bytes of the input (cut at a
/// character boundary) and ending with `...` when something was cut.
///
/// ```
/// assert_eq!(ban_proto::escape_bounded("abcdef", 3), "abc...");
/// assert_eq!(ban_proto::escape_bounded("ab\ncd", 10), "ab\\ncd");
/// ```
pub fn escape_bounded(s: &str, max_bytes: usize) -> String {
    let mut cut = s.len().min(max_bytes);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let (kept, rest) = s.split_at(cut);
    let mut out = String::with_capacity(kept.len() + 3);
    for c in kept.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' | '\'' => out.push(c),
            c => {
                let mut esc = c.escape_debug();
                if esc.len() == 1 {
                    out.push(c);
                } else {
                    out.extend(&mut esc);
                }
            }
        }
    }
    if !rest.is_empty() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape("a\tb\r\n"), "a\\tb\\r\\n");
        assert_eq!(escape("\u{feff}x\u{200b}"), "\\u{feff}x\\u{200b}");
        assert_eq!(escape("back\\slash"), "back\\\\slash");
        assert_eq!(escape("日本語"), "日本語");
    }

    #[test]
    fn bounds_at_a_char_boundary() {
        assert_eq!(escape_bounded("ééé", 3), "é...");
        assert_eq!(escape_bounded("abc", 3), "abc");
        assert_eq!(escape_bounded("", 0), "");
        let big = "x".repeat(1_500_000);
        assert_eq!(
            escape_bounded(&big, MAX_INFO_BYTES).len(),
            MAX_INFO_BYTES + 3
        );
    }
}
