//! Turns the user's search text into one tantivy query, built from analyzed tokens clause by
//! clause (never through tantivy's query parser, so no input can be a syntax error).
//!
//! The query is `+system:<system> +(clause OR clause OR …)`, or only the clauses when the
//! system's documents are kept by the collector instead (`SearchIndex::by_collector` says when).
//! The clauses fall into tiers: an exact code, an exact LOINC equivalent, an exact abbreviation
//! and an exact name score a constant that dwarfs any BM25 score, so such a hit is always first;
//! below them, BM25 over Chinese words, Chinese bigrams and English words ranks the partial
//! matches.

use huren_core::CodeSystem;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, Score, Searcher, Term};

use crate::SearchError;
use crate::analysis::{self, ZH_BIGRAMS_QUERY, fold_width, is_han, name_key};
use crate::index::Fields;

/// Which kinds of clause a query may use. Searches use [`Clauses::ALL`]; the analyzer
/// measurements switch kinds off to see what each one contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clauses {
    pub code: bool,
    pub loinc: bool,
    pub abbreviation: bool,
    pub name: bool,
    pub english: bool,
    pub stems: bool,
    pub fuzzy: bool,
    pub jieba: bool,
    pub bigrams: bool,
}

impl Clauses {
    pub(crate) const ALL: Clauses = Clauses {
        code: true,
        loinc: true,
        abbreviation: true,
        name: true,
        english: true,
        stems: true,
        fuzzy: true,
        jieba: true,
        bigrams: true,
    };

    #[cfg(test)]
    pub(crate) const NONE: Clauses = Clauses {
        code: false,
        loinc: false,
        abbreviation: false,
        name: false,
        english: false,
        stems: false,
        fuzzy: false,
        jieba: false,
        bigrams: false,
    };
}

// Constant tiers. A code typed in full is unambiguous; a national concept whose LOINC
// equivalent is the typed code comes next; an abbreviation or a whole name typed exactly is
// what a lab user means far more often than a concept that merely shares words with it.
const CODE: Score = 1000.0;
const LOINC_EQUIVALENT: Score = 500.0;
const ABBREVIATION: Score = 200.0;
const NAME: Score = 150.0;
/// One word of a several-word text that is an abbreviation (`ALT 血清`).
const ABBREVIATION_WORD: Score = 20.0;

// BM25 clauses. English requires every word first (`alanine aminotransferase` must not rank
// `aspartate aminotransferase` level with it) and falls back to any word. Chinese whole words
// from jieba outrank bigram overlaps, and a text all of whose bigrams are present outranks
// one sharing a few.
const EN_ALL_WORDS: Score = 4.0;
const EN_ANY_WORD: Score = 1.0;
const EN_STEM: Score = 0.5;
const EN_ABBREVIATION: Score = 2.0;
/// Fuzzy matches score this constant: a fallback that never beats a real word match.
const FUZZY: Score = 0.5;
const ZH_WORDS: Score = 2.0;
const ZH_ALL_BIGRAMS: Score = 1.5;
const ZH_ANY_BIGRAM: Score = 1.0;

/// Longer texts are cut here: nobody searches a terminology with a paragraph, and the cut
/// bounds the size of the query a pasted blob can build.
const MAX_QUERY_CHARS: usize = 256;
/// The most tokens one analyzer contributes to the query.
const MAX_TOKENS: usize = 32;
/// The most English words given a fuzzy clause; each builds an automaton.
const MAX_FUZZY_WORDS: usize = 4;
/// Shorter words have too many neighbours at distance one to be worth a fuzzy match.
const MIN_FUZZY_CHARS: usize = 5;

/// The part of a search text that the query is built from: trimmed, and cut after
/// `MAX_QUERY_CHARS` characters. Two texts with the same significant part find the same page.
pub(crate) fn significant(text: &str) -> &str {
    let text = text.trim();
    match text.char_indices().nth(MAX_QUERY_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// Builds the query of one search. `text` is trimmed and not empty. With `in_system`, the
/// query matches only the documents of that system; without it, documents of every system
/// match and the caller keeps those of one (see `SearchIndex::by_collector`).
pub(crate) fn build(
    index: &Index,
    searcher: &Searcher,
    fields: &Fields,
    clauses: Clauses,
    in_system: Option<CodeSystem>,
    text: &str,
) -> Result<Box<dyn Query>, SearchError> {
    let folded = fold_width(significant(text));
    let folded = folded.trim();
    let mut should: Vec<Box<dyn Query>> = Vec::new();

    if clauses.code {
        should.extend(exact(searcher, fields.code, folded, CODE)?);
    }
    if clauses.loinc {
        should.extend(exact(searcher, fields.loinc, folded, LOINC_EQUIVALENT)?);
    }
    if clauses.abbreviation {
        for key in abbreviation_keys(folded) {
            should.extend(exact(searcher, fields.abbreviation, &key, ABBREVIATION)?);
        }
    }
    if clauses.name {
        should.extend(exact(searcher, fields.name, &name_key(folded), NAME)?);
    }

    // Latin words are what is left once Chinese characters are blanked out, so that
    // `HbA1c糖化` yields the word `hba1c` rather than one unsearchable token.
    let latin: String = folded
        .chars()
        .map(|c| if is_han(c) { ' ' } else { c })
        .collect();
    if clauses.abbreviation {
        for word in latin.split_whitespace().filter(|w| *w != folded) {
            for key in abbreviation_keys(word) {
                should.extend(exact(
                    searcher,
                    fields.abbreviation,
                    &key,
                    ABBREVIATION_WORD,
                )?);
            }
        }
    }
    if clauses.english {
        should.extend(english(index, searcher, fields, clauses, &latin)?);
    }
    if clauses.jieba {
        let mut analyzer = index.tokenizer_for_field(fields.zh_words)?;
        let words = analysis::tokens(&mut analyzer, folded, MAX_TOKENS);
        should.extend(
            words
                .iter()
                .map(|w| boost(scored(fields.zh_words, w), ZH_WORDS)),
        );
    }
    if clauses.bigrams {
        let mut analyzer = index
            .tokenizers()
            .get(ZH_BIGRAMS_QUERY)
            .ok_or(SearchError::MissingAnalyzer(ZH_BIGRAMS_QUERY))?;
        let grams = analysis::tokens(&mut analyzer, folded, MAX_TOKENS);
        if grams.len() > 1 {
            let all = BooleanQuery::intersection(
                grams.iter().map(|g| scored(fields.zh_bigrams, g)).collect(),
            );
            should.push(boost(Box::new(all), ZH_ALL_BIGRAMS));
        }
        should.extend(
            grams
                .iter()
                .map(|g| boost(scored(fields.zh_bigrams, g), ZH_ANY_BIGRAM)),
        );
    }

    if should.is_empty() {
        return Ok(Box::new(EmptyQuery));
    }
    let Some(system) = in_system else {
        return Ok(union(should));
    };
    // The system term only filters: scoring it would add the same amount to every hit.
    let in_system = ConstScoreQuery::new(
        Box::new(TermQuery::new(
            Term::from_field_text(fields.system, system.as_str()),
            IndexRecordOption::Basic,
        )),
        0.0,
    );
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(in_system)),
        (Occur::Must, union(should)),
    ])))
}

/// The English clauses: all words (each in any English form) first, any word as a fallback.
fn english(
    index: &Index,
    searcher: &Searcher,
    fields: &Fields,
    clauses: Clauses,
    latin: &str,
) -> Result<Vec<Box<dyn Query>>, SearchError> {
    let mut words_analyzer = index.tokenizer_for_field(fields.en_words)?;
    let mut stems_analyzer = index.tokenizer_for_field(fields.en_stems)?;
    let words = analysis::tokens(&mut words_analyzer, latin, MAX_TOKENS);
    let mut fuzzy_left = MAX_FUZZY_WORDS;
    let mut groups: Vec<Vec<Box<dyn Query>>> = Vec::new();
    for word in &words {
        let mut forms: Vec<Box<dyn Query>> = vec![scored(fields.en_words, word)];
        let word_term = Term::from_field_text(fields.en_words, word);
        let mut known = searcher.doc_freq(&word_term)? > 0;
        if clauses.stems {
            // Stemming one word gives one token (the stemmer never splits or drops one).
            if let Some(stem) = analysis::tokens(&mut stems_analyzer, word, 1).pop() {
                known =
                    known || searcher.doc_freq(&Term::from_field_text(fields.en_stems, &stem))? > 0;
                forms.push(boost(scored(fields.en_stems, &stem), EN_STEM));
            }
        }
        if clauses.abbreviation {
            forms.extend(exact(searcher, fields.abbreviation, word, EN_ABBREVIATION)?);
        }
        // A word the index does not know is likely a typo: let it match its neighbours at
        // edit distance one (a transposition counts as one edit). Numbers are left out: a
        // mistyped code or value is not near the right one in any useful sense.
        if clauses.fuzzy
            && !known
            && fuzzy_left > 0
            && word.chars().count() >= MIN_FUZZY_CHARS
            && !word.chars().any(|c| c.is_ascii_digit())
        {
            fuzzy_left -= 1;
            forms.push(boost(
                Box::new(FuzzyTermQuery::new(word_term, 1, true)),
                FUZZY,
            ));
        }
        groups.push(forms);
    }
    // A word's forms are clauses of the query's one union, each boosted, rather than a union of
    // their own: a boost is passed down to the scorers, so the scores are the same sums, while
    // the top-level union no longer drives a nested one per word (most of a broad search's
    // time went to unions filling their buffers).
    let spread = |forms: &[Box<dyn Query>], by: Score| {
        forms
            .iter()
            .map(|f| boost(f.box_clone(), by))
            .collect::<Vec<_>>()
    };
    let mut out: Vec<Box<dyn Query>> = Vec::new();
    match groups.as_slice() {
        [] => {}
        [word] => out.extend(spread(word, EN_ALL_WORDS)),
        _ => {
            let all = BooleanQuery::intersection(
                groups
                    .iter()
                    .map(|forms| union(forms.iter().map(|f| f.box_clone()).collect()))
                    .collect(),
            );
            out.push(boost(Box::new(all), EN_ALL_WORDS));
            out.extend(groups.iter().flat_map(|forms| spread(forms, EN_ANY_WORD)));
        }
    }
    Ok(out)
}

/// The lowercased and the punctuation-free form of a would-be abbreviation, without
/// duplicates or empty forms.
fn abbreviation_keys(text: &str) -> Vec<String> {
    let mut keys = vec![name_key(text)];
    let norm = analysis::normalize_abbreviation(text);
    if norm != keys[0] {
        keys.push(norm);
    }
    keys.retain(|k| !k.is_empty());
    keys
}

/// A constant-score match of one whole value of a raw field; `None` when no document has the
/// value. Leaving it out changes no hit or score, and it matters: tantivy drops a term clause
/// that matches nothing, but not a constant-score one, and a union that is left with term
/// clauses only is scored by tantivy's specialized union of term scorers.
fn exact(
    searcher: &Searcher,
    field: Field,
    value: &str,
    score: Score,
) -> Result<Option<Box<dyn Query>>, SearchError> {
    let term = Term::from_field_text(field, value);
    if searcher.doc_freq(&term)? == 0 {
        return Ok(None);
    }
    Ok(Some(Box::new(ConstScoreQuery::new(
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        score,
    ))))
}

/// A BM25-scored match of one token of an analyzed field (with a term frequency of one: the
/// fields record none).
fn scored(field: Field, token: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, token),
        IndexRecordOption::Basic,
    ))
}

fn boost(query: Box<dyn Query>, by: Score) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, by))
}

fn union(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::union(queries))
}
