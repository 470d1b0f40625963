//! The JSON the health report and the JSON-lines reporter write: strings
//! escaped, numbers that JSON can hold.

/// Appends `s` as a JSON string.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `v` as a JSON number, or as the string `"NaN"`, `"+Inf"` or
/// `"-Inf"` (JSON has no such numbers).
pub(crate) fn number(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v == f64::INFINITY {
        out.push_str("\"+Inf\"");
    } else if v == f64::NEG_INFINITY {
        out.push_str("\"-Inf\"");
    } else {
        out.push_str(&format!("{v}"));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped_and_numbers_spelled() {
        let mut out = String::new();
        super::string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        out.clear();
        super::number(&mut out, f64::NAN);
        super::number(&mut out, 1.5);
        super::number(&mut out, f64::INFINITY);
        super::number(&mut out, f64::NEG_INFINITY);
        assert_eq!(out, "\"NaN\"1.5\"+Inf\"\"-Inf\"");
    }
}
