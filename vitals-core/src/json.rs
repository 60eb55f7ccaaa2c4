//! A tiny JSON writer for the beacon (no serde, no `core::fmt` floats: both
//! cost kilobytes in the wasm agent).
//!
//! Strings are escaped per RFC 8259, plus U+2028/U+2029 (valid JSON, but not
//! valid in older JavaScript string literals). Numbers are written in fixed
//! notation with a chosen number of decimals; non-finite numbers become `null`.

use alloc::string::String;

/// Builds one JSON text. Commas are inserted automatically.
#[derive(Debug, Default)]
pub struct JsonWriter {
    out: String,
    need_comma: bool,
}

impl JsonWriter {
    pub fn new() -> JsonWriter {
        JsonWriter::default()
    }

    /// The JSON text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Length in bytes of the text written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    fn sep(&mut self) {
        if self.need_comma {
            self.out.push(',');
        }
        self.need_comma = true;
    }

    fn key(&mut self, k: &str) {
        self.sep();
        write_str(&mut self.out, k);
        self.out.push(':');
    }

    /// Opens an object as an array element or the top-level value.
    pub fn begin_object(&mut self) {
        self.sep();
        self.out.push('{');
        self.need_comma = false;
    }

    /// Opens an object as the value of `k`.
    pub fn begin_object_field(&mut self, k: &str) {
        self.key(k);
        self.out.push('{');
        self.need_comma = false;
    }

    pub fn end_object(&mut self) {
        self.out.push('}');
        self.need_comma = true;
    }

    /// Opens an array as the value of `k`.
    pub fn begin_array_field(&mut self, k: &str) {
        self.key(k);
        self.out.push('[');
        self.need_comma = false;
    }

    pub fn end_array(&mut self) {
        self.out.push(']');
        self.need_comma = true;
    }

    pub fn string_field(&mut self, k: &str, v: &str) {
        self.key(k);
        write_str(&mut self.out, v);
    }

    /// Writes `k: v` with at most `decimals` decimals (trailing zeros trimmed);
    /// `null` if `v` is not finite.
    pub fn number_field(&mut self, k: &str, v: f64, decimals: u32) {
        self.key(k);
        write_number(&mut self.out, v, decimals);
    }

    /// Writes `k: v` only if `v` is finite (drops the field otherwise).
    pub fn finite_field(&mut self, k: &str, v: f64, decimals: u32) {
        if v.is_finite() {
            self.number_field(k, v, decimals);
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' || c == '\u{7f}' => {
                let n = c as u32;
                out.push_str("\\u");
                for i in (0..4).rev() {
                    out.push(char::from(HEX[((n >> (i * 4)) & 0xf) as usize]));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends an unsigned integer in decimal (no `core::fmt`).
pub fn write_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends `v` rounded to `decimals` decimals (at most 9), trailing zeros
/// trimmed; `null` if `v` is not finite or too large to print exactly.
pub fn write_number(out: &mut String, v: f64, decimals: u32) {
    let decimals = decimals.min(9);
    let scale = 10u64.pow(decimals);
    // Round half up by hand: `f64::round` needs std (libm) in a no_std build.
    let scaled = v.abs() * scale as f64 + 0.5;
    // 2^53: beyond this integers are not exact in f64.
    if !scaled.is_finite() || scaled >= 9_007_199_254_740_992.0 {
        out.push_str("null");
        return;
    }
    let scaled = scaled as u64; // truncation of x + 0.5: rounding
    if v < 0.0 && scaled != 0 {
        out.push('-');
    }
    write_u64(out, scaled / scale);
    let mut frac = scaled % scale;
    if frac != 0 {
        let mut digits = decimals;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        out.push('.');
        let mut buf = [b'0'; 9];
        let mut i = digits as usize;
        while i > 0 {
            i -= 1;
            buf[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        for &b in &buf[..digits as usize] {
            out.push(char::from(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: f64, d: u32) -> String {
        let mut s = String::new();
        write_number(&mut s, v, d);
        s
    }

    fn string(v: &str) -> String {
        let mut s = String::new();
        write_str(&mut s, v);
        s
    }

    #[test]
    fn numbers_are_fixed_point_and_trimmed() {
        let cases = [
            (0.0, 1, "0"),
            (-0.0, 1, "0"),
            (1234.5, 1, "1234.5"),
            (1234.56, 1, "1234.6"),
            (1234.04, 1, "1234"),
            (0.1, 4, "0.1"),
            (0.0123456, 6, "0.012346"),
            (0.000001, 4, "0"),
            (-12.25, 2, "-12.25"),
            (1_732_680_000_000.0, 0, "1732680000000"),
            (f64::NAN, 1, "null"),
            (f64::INFINITY, 1, "null"),
            (1e300, 1, "null"),
        ];
        for (v, d, want) in cases {
            assert_eq!(num(v, d), want, "{v} with {d} decimals");
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("\n\r\t\u{1}\u{1f}"), r#""\n\r\t\u0001\u001f""#);
        assert_eq!(string("x\u{2028}y\u{2029}"), r#""x\u2028y\u2029""#);
        assert_eq!(string("é😀"), "\"é😀\"");
    }

    #[test]
    fn writer_builds_nested_objects_with_commas() {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.number_field("v", 1.0, 0);
        w.string_field("site", "demo");
        w.begin_array_field("metrics");
        w.begin_object();
        w.string_field("name", "LCP");
        w.begin_object_field("attribution");
        w.end_object();
        w.end_object();
        w.begin_object();
        w.finite_field("value", f64::NAN, 1);
        w.finite_field("delta", 2.0, 1);
        w.end_object();
        w.end_array();
        w.end_object();
        assert_eq!(
            w.finish(),
            r#"{"v":1,"site":"demo","metrics":[{"name":"LCP","attribution":{}},{"delta":2}]}"#
        );
    }
}
