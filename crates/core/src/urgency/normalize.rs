//! Width and spelling normalisation for Japanese clinical text, one character in, one character
//! out (so character positions still point into the original text).
//!
//! Full-width ASCII (ＳｐＯ２ ８８％) becomes ASCII (spo2 88%), ASCII letters are lower-cased, the
//! ideographic space becomes a space, the many dash look-alikes become `-`, the wave dash `〜`
//! becomes `~` and subscript digits become digits. This is the part of NFKC that matters for
//! matching rules and numbers; kana are left as they are.

/// Folds one character (see the module doc). Always returns exactly one character.
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' | '\u{FF70}' | '\u{FE63}' => '-',
        '\u{301C}' => '~',
        '\u{2080}'..='\u{2089}' => char::from_u32(c as u32 - 0x2080 + 0x30).unwrap_or(c),
        '\u{00A0}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// Normalises a whole text (see the module doc); the result has as many characters as `text`.
pub fn normalize(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// Normalised characters of `text`, each with the byte offset of its original character.
pub fn normalize_with_offsets(text: &str) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        chars.push(fold_char(c));
        offsets.push(i);
    }
    offsets.push(text.len());
    (chars, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_ascii_and_case() {
        assert_eq!(normalize("ＳｐＯ２ ８８％"), "spo2 88%");
        assert_eq!(normalize("ＢＴ３８．５℃"), "bt38.5℃");
        assert_eq!(normalize("SpO₂"), "spo2");
        assert_eq!(normalize("０９０−１２３４ー５６７８"), "090-1234ー5678");
        assert_eq!(normalize("呼吸苦　あり"), "呼吸苦 あり");
    }

    #[test]
    fn keeps_character_count() {
        let s = "ＳｐＯ２〜９０％、意識レベル低下";
        assert_eq!(normalize(s).chars().count(), s.chars().count());
        let (chars, offs) = normalize_with_offsets(s);
        assert_eq!(chars.len() + 1, offs.len());
        assert_eq!(offs[chars.len()], s.len());
    }
}
