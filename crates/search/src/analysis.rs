//! Analyzers: how concept names and user text become index terms (Chinese words, Chinese
//! character bigrams, English words and stems, abbreviations and whole names).
//!
//! Every analyzer is registered on the index under one of the names below, and the query side
//! runs user text through the very same analyzers, so a term can only be searched in the form
//! it was indexed in.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use tantivy::Index;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};
use tantivy_jieba::jieba_rs::Jieba;

/// Chinese words cut by jieba in search mode, with the registry's lab vocabulary added.
pub(crate) const ZH_WORDS: &str = "huren_zh_words";
/// Chinese characters and character bigrams, as indexed.
pub(crate) const ZH_BIGRAMS: &str = "huren_zh_bigrams";
/// Chinese character bigrams as a query is cut (see [`HanBigramTokenizer`]).
pub(crate) const ZH_BIGRAMS_QUERY: &str = "huren_zh_bigrams_query";
/// English words, lowercased.
pub(crate) const EN_WORDS: &str = "huren_en_words";
/// English words, lowercased and stemmed (Porter/Snowball English).
pub(crate) const EN_STEMS: &str = "huren_en_stems";

/// English tokens longer than this (in bytes) are noise (a pasted blob), not words.
const MAX_EN_TOKEN_BYTES: usize = 40;
/// The longest Chinese word taken into the jieba dictionary or emitted as a token, in
/// characters. Lab names are rarely longer than about 15 characters; longer runs are
/// sentences, and would only bloat the dictionary.
const MAX_ZH_WORD_CHARS: usize = 32;

/// Registers every analyzer of the crate on `index`, with `jieba` as the Chinese word cutter.
///
/// The analyzers live in the index's tokenizer manager, which is per index and not saved with
/// it, so this must run on every index before documents are added.
pub(crate) fn register_analyzers(index: &Index, jieba: Arc<Jieba>) {
    let tokenizers = index.tokenizers();
    tokenizers.register(ZH_WORDS, ZhWordTokenizer { jieba });
    tokenizers.register(ZH_BIGRAMS, HanBigramTokenizer { for_query: false });
    tokenizers.register(ZH_BIGRAMS_QUERY, HanBigramTokenizer { for_query: true });
    tokenizers.register(
        EN_WORDS,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_EN_TOKEN_BYTES))
            .filter(LowerCaser)
            .build(),
    );
    tokenizers.register(
        EN_STEMS,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_EN_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build(),
    );
}

/// Runs `text` through `analyzer` and returns the distinct token texts in order of first
/// appearance, at most `limit` of them.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while out.len() < limit && stream.advance() {
        let t = &stream.token().text;
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.clone());
        }
    }
    out
}

/// Builds a jieba cutter that knows the lab vocabulary of the registry: every run of Chinese
/// characters in `names` becomes a dictionary word, so that `谷丙转氨酶` or `糖化血红蛋白` is
/// cut as one word and not as `谷/丙/转氨酶`.
///
/// Each call loads jieba's default dictionary afresh (about 150 ms in a release build): an
/// index is built once per registry snapshot, and a copy kept for the next build stayed in
/// memory for the life of the process next to the index's own, 34 MB each with the
/// dictionary's 350,000 words (issue 20's server RSS).
pub(crate) fn lab_jieba<'a>(names: impl IntoIterator<Item = &'a str>) -> Jieba {
    let mut jieba = Jieba::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for name in names {
        for run in han_runs(name) {
            let chars = run.chars().count();
            if (2..=MAX_ZH_WORD_CHARS).contains(&chars) && seen.insert(run) && !jieba.has_word(run)
            {
                // No frequency: jieba then suggests one just high enough to keep the word whole.
                jieba.add_word(run, None, None);
            }
        }
    }
    jieba
}

/// Whether `c` is a Chinese (CJK unified or compatibility) ideograph.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}'
        | '\u{30000}'..='\u{3134F}')
}

/// The maximal runs of Chinese characters in `text`.
fn han_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_han(c)).filter(|r| !r.is_empty())
}

/// Maps full-width ASCII forms (`ＨｂＡ１ｃ`, `（`) and the ideographic space to their ASCII
/// forms. Chinese input methods produce full-width letters and digits easily, and a user who
/// types `ＡＬＴ` means `ALT`.
pub(crate) fn fold_width(text: &str) -> Cow<'_, str> {
    let wide = |c: char| matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}');
    if !text.chars().any(wide) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            })
            .collect(),
    )
}

/// The key under which a whole name is indexed and looked up: width-folded, lowercased, with
/// runs of white space collapsed to one space.
pub(crate) fn name_key(text: &str) -> String {
    fold_width(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The normalized form of an abbreviation: width-folded, lowercased, with everything but
/// letters and digits removed, so that `HDL-C`, `hdl c` and `HDLC` meet as `hdlc`.
pub(crate) fn normalize_abbreviation(text: &str) -> String {
    fold_width(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Puts `text[from..to]` into `token` as the next token of a stream, reusing its buffer
/// (tokenizing allocates nothing per token: a 100k-concept build cuts millions of them).
fn set_token(token: &mut Token, text: &str, from: usize, to: usize, position: usize) {
    token.offset_from = from;
    token.offset_to = to;
    token.position = position;
    token.position_length = 1;
    token.text.clear();
    token.text.push_str(&text[from..to]);
}

/// jieba in search mode over a shared dictionary, lowercased, without punctuation tokens.
///
/// `tantivy_jieba::JiebaTokenizer::with_jieba` owns its `Jieba`, and tantivy clones an
/// analyzer each time it hands one out (per segment writer, per `tokenizer_for_field` call):
/// that would copy a 35 MB dictionary per query. Sharing it through an `Arc` makes the clone
/// free. The cutting itself is jieba's `cut_for_search` with HMM on, exactly as
/// `JiebaTokenizer` does it.
#[derive(Clone)]
pub(crate) struct ZhWordTokenizer {
    jieba: Arc<Jieba>,
}

impl Tokenizer for ZhWordTokenizer {
    type TokenStream<'a> = ZhWordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ZhWordStream<'a> {
        ZhWordStream {
            text,
            words: self.jieba.cut_for_search(text, true).into_iter(),
            position: 0,
            token: Token::default(),
        }
    }
}

pub(crate) struct ZhWordStream<'a> {
    text: &'a str,
    words: std::vec::IntoIter<tantivy_jieba::jieba_rs::Token<'a>>,
    position: usize,
    token: Token,
}

impl TokenStream for ZhWordStream<'_> {
    fn advance(&mut self) -> bool {
        for w in self.words.by_ref() {
            // Spaces and punctuation come out as tokens of their own; they carry no meaning.
            if !w.word.chars().any(char::is_alphanumeric) || w.end - w.start > MAX_ZH_WORD_CHARS {
                continue;
            }
            set_token(
                &mut self.token,
                self.text,
                w.byte_start,
                w.byte_end,
                self.position,
            );
            if w.word.chars().any(char::is_uppercase) {
                self.token.text = w.word.to_lowercase();
            }
            self.position += 1;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Chinese characters and overlapping character bigrams, for runs of Chinese characters only.
///
/// Indexing emits every character and every bigram of each run, so that a one-character query
/// (`钾`, `钠`) can match. A query emits only the bigrams of runs of two or more characters (a
/// one-character run emits its character), which is the classic CJK bigram scheme: `谷丙`
/// finds `谷丙转氨酶` without matching everything that merely contains `谷`. Latin letters and
/// digits are left to the other analyzers, which is how this is restricted compared to a plain
/// `NgramTokenizer` over the whole text.
#[derive(Clone, Copy)]
pub(crate) struct HanBigramTokenizer {
    for_query: bool,
}

impl Tokenizer for HanBigramTokenizer {
    type TokenStream<'a> = HanBigramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> HanBigramStream<'a> {
        HanBigramStream {
            text,
            chars: text.char_indices(),
            for_query: self.for_query,
            previous: None,
            run: 0,
            pending: [None; 2],
            ended: false,
            position: 0,
            token: Token::default(),
        }
    }
}

pub(crate) struct HanBigramStream<'a> {
    text: &'a str,
    chars: std::str::CharIndices<'a>,
    for_query: bool,
    /// Byte span of the previous character, if it was Chinese.
    previous: Option<(usize, usize)>,
    /// Length of the current run of Chinese characters.
    run: usize,
    /// Spans found but not emitted yet (a step finds at most two), in order.
    pending: [Option<(usize, usize)>; 2],
    ended: bool,
    position: usize,
    token: Token,
}

impl HanBigramStream<'_> {
    fn push(&mut self, span: (usize, usize)) {
        let slot = if self.pending[0].is_none() { 0 } else { 1 };
        self.pending[slot] = Some(span);
    }
}

impl TokenStream for HanBigramStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            if let Some((from, to)) = self.pending[0].take() {
                self.pending.swap(0, 1);
                set_token(&mut self.token, self.text, from, to, self.position);
                self.position += 1;
                return true;
            }
            if self.ended {
                return false;
            }
            match self.chars.next() {
                Some((at, c)) if is_han(c) => {
                    let end = at + c.len_utf8();
                    if let Some((from, _)) = self.previous {
                        self.push((from, end));
                    }
                    if !self.for_query {
                        self.push((at, end));
                    }
                    self.previous = Some((at, end));
                    self.run += 1;
                }
                next => {
                    // A run ended: a query's one-character run is searched as that character.
                    if let (true, 1, Some(span)) = (self.for_query, self.run, self.previous) {
                        self.push(span);
                    }
                    self.previous = None;
                    self.run = 0;
                    self.ended = next.is_none();
                }
            }
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::Schema;

    fn analyze(name: &str, text: &str) -> Vec<String> {
        let index = Index::create_in_ram(Schema::builder().build());
        register_analyzers(&index, Arc::new(lab_jieba(["谷丙转氨酶", "糖化血红蛋白"])));
        let mut analyzer = index.tokenizers().get(name).unwrap();
        tokens(&mut analyzer, text, 100)
    }

    #[test]
    fn lab_words_are_cut_whole() {
        let t = analyze(ZH_WORDS, "谷丙转氨酶");
        assert!(t.contains(&"谷丙转氨酶".to_string()), "{t:?}");
        let t = analyze(ZH_WORDS, "糖化血红蛋白 HbA1c（高）");
        assert!(t.contains(&"糖化血红蛋白".to_string()), "{t:?}");
        assert!(t.contains(&"hba1c".to_string()), "{t:?}");
        assert!(
            t.iter().all(|t| t.chars().any(char::is_alphanumeric)),
            "{t:?}"
        );
    }

    #[test]
    fn bigrams_index_characters_and_query_pairs() {
        assert_eq!(analyze(ZH_BIGRAMS, "血糖a钾"), ["血", "血糖", "糖", "钾"]);
        assert_eq!(
            analyze(ZH_BIGRAMS_QUERY, "谷丙转 钾"),
            ["谷丙", "丙转", "钾"]
        );
        assert!(analyze(ZH_BIGRAMS_QUERY, "glucose (*)").is_empty());
    }

    #[test]
    fn english_is_lowercased_and_stemmed_separately() {
        assert_eq!(
            analyze(EN_WORDS, "Leukocytes [#/volume]"),
            ["leukocytes", "volume"]
        );
        assert_eq!(analyze(EN_STEMS, "Leukocytes"), ["leukocyt"]);
    }

    #[test]
    fn abbreviations_normalize() {
        for (raw, norm) in [
            ("HDL-C", "hdlc"),
            ("CA15-3", "ca153"),
            ("HbA1c", "hba1c"),
            ("ＨｂＡ１ｃ", "hba1c"),
            ("γ-GT", "γgt"),
            ("(", ""),
        ] {
            assert_eq!(normalize_abbreviation(raw), norm, "{raw}");
        }
        assert_eq!(name_key("  Blood\u{3000}Sugar "), "blood sugar");
    }
}
