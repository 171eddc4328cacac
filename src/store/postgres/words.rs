//! Words: a value's tokens, kept as the lexemes of a `tsvector` in `call_values.words`
//! under one GIN index, for `CONTAINS_TOKEN` and `query`.
//!
//! Why not a row per token: a call has about a hundred tokens, and a row per token with two
//! btree indexes made the token table most of a call's write volume (WAL and disk). A
//! `tsvector` puts them in the value's own row, and GIN stores each lexeme once with a
//! compressed list of rows; its prefix match (`'…':*`) answers the `query` and `foo*`
//! forms from the index.
//!
//! A lexeme is `name:token`, so one index serves every property and a match never crosses
//! properties (names are `[a-z0-9_]` and tokens letters and digits, so `:` separates them
//! unambiguously). Lexemes are cut to [`MAX_LEXEME_CHARS`]: PostgreSQL refuses longer
//! ones, and a write must never fail on a long word (docs/compatibility.md).
//!
//! Lexemes reach PostgreSQL as text, never parsed by a text-search configuration:
//! `array_to_tsvector` takes them as they are, and a quoted `tsquery` term is matched
//! verbatim.

/// The longest lexeme kept, in characters: PostgreSQL's limit is 2,047 bytes, and a
/// character is at most four. The migration to this layout cuts with `left(…, 500)`.
pub(super) const MAX_LEXEME_CHARS: usize = 500;

/// The lexeme of one token of property `name`, cut to [`MAX_LEXEME_CHARS`].
pub(super) fn lexeme(name: &str, token: &str) -> String {
    let mut lexeme = String::with_capacity(name.len() + 1 + token.len());
    lexeme.push_str(name);
    lexeme.push(':');
    lexeme.push_str(token);
    if let Some((cut, _)) = lexeme.char_indices().nth(MAX_LEXEME_CHARS) {
        lexeme.truncate(cut);
    }
    lexeme
}

/// A value's lexemes as one parameter: joined by spaces (which neither names nor tokens
/// hold), split again in SQL by `array_to_tsvector(string_to_array($n, ' '))`. `None`
/// (SQL NULL, outside the partial GIN index) for a value without tokens.
pub(super) fn words_param(name: &str, tokens: &[String]) -> Option<String> {
    if tokens.is_empty() {
        return None;
    }
    let mut joined = String::new();
    for token in tokens {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(&lexeme(name, token));
    }
    Some(joined)
}

/// A quoted `tsquery` term matching `lexeme` exactly, or every lexeme starting with it.
pub(super) fn tsquery_term(lexeme: &str, prefix: bool) -> String {
    // Inside quotes, a quote is doubled and a backslash escapes the next character.
    let quoted = lexeme.replace('\\', "\\\\").replace('\'', "''");
    if prefix {
        format!("'{quoted}':*")
    } else {
        format!("'{quoted}'")
    }
}

/// What the GIN index can answer for one `CONTAINS_TOKEN` part (which may hold `*`), and
/// the `LIKE` pattern that decides the rest.
#[derive(Debug, PartialEq)]
pub(super) struct PartMatch {
    /// The `tsquery` term for the part's literal head, if it has one.
    pub(super) term: Option<String>,
    /// A `LIKE` pattern for the part's lexemes, when the term alone does not decide.
    pub(super) recheck: Option<String>,
}

/// Splits a token pattern part of property `name` into its indexable head and a recheck.
pub(super) fn part_match(name: &str, part: &str) -> PartMatch {
    let (head, tail) = match part.find('*') {
        Some(at) => part.split_at(at),
        None => (part, ""),
    };
    let term = (!head.is_empty()).then(|| tsquery_term(&lexeme(name, head), !tail.is_empty()));
    // `head*`, `head**` …: the prefix term is the whole condition.
    let decided = term.is_some() && tail.chars().all(|c| c == '*');
    let recheck = (!decided).then(|| {
        let mut pattern = like_literal(name);
        pattern.push(':');
        for c in part.chars() {
            match c {
                '*' => pattern.push('%'),
                c => push_like_literal(&mut pattern, c),
            }
        }
        pattern
    });
    PartMatch { term, recheck }
}

/// `text` as a `LIKE` pattern matching only itself (backslash is LIKE's default escape).
fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len());
    for c in text.chars() {
        push_like_literal(&mut pattern, c);
    }
    pattern
}

fn push_like_literal(pattern: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        pattern.push('\\');
    }
    pattern.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexemes_carry_the_property_and_are_cut_to_the_limit() {
        assert_eq!(lexeme("hs_call_title", "hello"), "hs_call_title:hello");
        let long = "é".repeat(700);
        let cut = lexeme("p", &long);
        assert_eq!(cut.chars().count(), MAX_LEXEME_CHARS);
        assert!(cut.len() <= 2047, "within PostgreSQL's lexeme limit");
        assert!(cut.starts_with("p:é"));
    }

    #[test]
    fn a_value_without_tokens_has_no_words() {
        assert_eq!(words_param("p", &[]), None);
        assert_eq!(
            words_param("p", &["a".into(), "b2".into()]).as_deref(),
            Some("p:a p:b2")
        );
    }

    #[test]
    fn terms_are_quoted_verbatim() {
        assert_eq!(tsquery_term("p:abc", false), "'p:abc'");
        assert_eq!(tsquery_term("p:abc", true), "'p:abc':*");
        assert_eq!(tsquery_term("p:a'b\\c", false), "'p:a''b\\\\c'");
    }

    #[test]
    fn parts_split_into_an_indexed_head_and_a_recheck() {
        let exact = part_match("my_prop", "abc");
        assert_eq!(exact.term.as_deref(), Some("'my_prop:abc'"));
        assert_eq!(exact.recheck, None);

        let prefix = part_match("my_prop", "abc**");
        assert_eq!(prefix.term.as_deref(), Some("'my_prop:abc':*"));
        assert_eq!(prefix.recheck, None);

        let inner = part_match("my_prop", "a*c");
        assert_eq!(inner.term.as_deref(), Some("'my_prop:a':*"));
        assert_eq!(inner.recheck.as_deref(), Some("my\\_prop:a%c"));

        let leading = part_match("my_prop", "*c");
        assert_eq!(leading.term, None);
        assert_eq!(leading.recheck.as_deref(), Some("my\\_prop:%c"));
    }
}
