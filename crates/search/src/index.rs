//! The in-memory search index over a registry snapshot: its schema, how it is built, and how a
//! page of ranked codes is collected from it.

use std::fmt;
use std::iter;
use std::sync::Arc;

use huren_core::concept::Language;
use huren_core::ports::{ConceptSearch, PortError, SearchPage};
use huren_core::{CodeSystem, Concept, Registry};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::indexer::NoMergePolicy;
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score, TantivyDocument};

use crate::SearchError;
use crate::analysis::{
    self, EN_STEMS, EN_WORDS, ZH_BIGRAMS, ZH_WORDS, fold_width, name_key, normalize_abbreviation,
};
use crate::query::{self, Clauses};

/// Name of the fast field holding a document's ordinal: its position in [`SearchIndex`]'s
/// code table, which is also its rank among equally scored hits.
const ORD: &str = "ord";
/// Indexing memory per writer thread. tantivy wants at least 15 MB; a registry of 100k
/// concepts indexes in well under this, so every thread writes one segment.
const WRITER_BUDGET_PER_THREAD: usize = 64 * 1024 * 1024;
/// More threads than this do not speed up a build of a few hundred thousand short documents.
const MAX_WRITER_THREADS: usize = 4;

/// The fields of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// `national` or `loinc`, for filtering.
    pub system: Field,
    /// The code, as one raw term.
    pub code: Field,
    /// For a national concept: its LOINC equivalent, as one raw term.
    pub loinc: Field,
    /// Each abbreviation lowercased, and again with punctuation removed.
    pub abbreviation: Field,
    /// Each whole name (displays, synonyms, short name), as [`name_key`] normalizes it.
    pub name: Field,
    /// Chinese display and synonyms, cut into words by jieba.
    pub zh_words: Field,
    /// Chinese display and synonyms, cut into characters and bigrams.
    pub zh_bigrams: Field,
    /// English display, synonyms and short name, as lowercased words.
    pub en_words: Field,
    /// The English display and synonyms, stemmed.
    pub en_stems: Field,
    /// See [`ORD`].
    pub ord: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut sb = Schema::builder();
        // Exact-match fields are scored by constants, so they need no field norms. Analyzed
        // fields keep field norms for BM25 but record neither positions (no query here is a
        // phrase) nor term frequencies: in a name, a repeated word is structure, not weight.
        // With frequencies, `Hemoglobin A1c/Hemoglobin.total` outranked `Hemoglobin [Mass/volume]
        // in Blood` for the search `hemoglobin`; without them the shorter name wins.
        let raw = || {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_fieldnorms(false)
                    .set_index_option(IndexRecordOption::Basic),
            )
        };
        let analyzed = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::Basic),
            )
        };
        let fields = Fields {
            system: sb.add_text_field("system", raw()),
            code: sb.add_text_field("code", raw()),
            loinc: sb.add_text_field("loinc", raw()),
            abbreviation: sb.add_text_field("abbreviation", raw()),
            name: sb.add_text_field("name", raw()),
            zh_words: sb.add_text_field("zh_words", analyzed(ZH_WORDS)),
            zh_bigrams: sb.add_text_field("zh_bigrams", analyzed(ZH_BIGRAMS)),
            en_words: sb.add_text_field("en_words", analyzed(EN_WORDS)),
            en_stems: sb.add_text_field("en_stems", analyzed(EN_STEMS)),
            ord: sb.add_u64_field(ORD, FAST),
        };
        (sb.build(), fields)
    }

    fn document(&self, system: CodeSystem, c: &Concept, ord: u64) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.system, system.as_str());
        doc.add_text(self.code, &c.code);
        if !c.loinc.is_empty() {
            doc.add_text(self.loinc, &c.loinc);
        }
        doc.add_u64(self.ord, ord);

        let mut abbreviations: Vec<String> = Vec::new();
        for a in &c.abbreviations {
            for key in [name_key(a), normalize_abbreviation(a)] {
                if !key.is_empty() && !abbreviations.contains(&key) {
                    abbreviations.push(key);
                }
            }
        }
        for a in &abbreviations {
            doc.add_text(self.abbreviation, a);
        }

        let zh = iter::once(&c.display_zh).chain(&c.synonyms_zh);
        for text in zh.clone().filter(|t| !t.trim().is_empty()) {
            let text = fold_width(text);
            doc.add_text(self.zh_words, &text);
            doc.add_text(self.zh_bigrams, &text);
        }
        let en_full = iter::once(&c.display_en).chain(&c.synonyms_en);
        for text in en_full.clone().filter(|t| !t.trim().is_empty()) {
            let text = fold_width(text);
            doc.add_text(self.en_words, &text);
            doc.add_text(self.en_stems, &text);
        }
        // The short name is LOINC's abbreviated form (`Creat SerPl-sCnc`): its words are
        // abbreviations that stemming would only mangle, so it is indexed as words only.
        if !c.short_name.trim().is_empty() {
            doc.add_text(self.en_words, fold_width(&c.short_name));
        }
        let en = en_full.chain(iter::once(&c.short_name));

        let mut names: Vec<String> = Vec::new();
        for n in zh.chain(en) {
            let key = name_key(n);
            if !key.is_empty() && !names.contains(&key) {
                names.push(key);
            }
        }
        for n in &names {
            doc.add_text(self.name, n);
        }
        doc
    }
}

/// A full-text index of the current release of every code system, held in RAM.
///
/// It is derived data: build a new one from each new registry snapshot and swap it in; it is
/// never updated in place. Searching takes `&self` and is safe from many threads at once
/// (every search takes a cheap snapshot of the one reader).
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The code of each document, by ordinal.
    codes: Vec<String>,
    /// The system of each document, by segment and document id ([`SearchIndex::by_collector`]).
    systems: Arc<[Vec<CodeSystem>]>,
    /// The systems that hold at least half of the documents ([`SearchIndex::by_collector`]).
    large_systems: Vec<CodeSystem>,
    /// The latest pages asked for ([`PageCache`]).
    pages: PageCache,
}

/// How many search pages an index keeps.
const CACHED_PAGES: usize = 2048;
/// Larger pages are not kept: 2048 pages of at most 100 codes bound the cache to a few MB.
const MAX_CACHED_COUNT: usize = 100;

/// The most recently asked search pages, by (system, text, offset, count).
///
/// Why: a broad word over a 100k-term release (`serum`, in 1/12 of all LOINC terms) scores
/// every matching document to rank and count them, about a millisecond, and type-ahead
/// clients ask the same few words over and over (issue 20). The index never changes (a new
/// release builds a new index, with an empty cache), so a kept page is always exact. `lru`
/// is the crate tantivy itself uses for its caches.
struct PageCache(std::sync::Mutex<lru::LruCache<PageKey, SearchPage>>);

#[derive(PartialEq, Eq, Hash)]
struct PageKey {
    system: CodeSystem,
    text: String,
    offset: usize,
    count: usize,
}

impl PageCache {
    fn new() -> PageCache {
        let size = std::num::NonZeroUsize::new(CACHED_PAGES).unwrap_or(std::num::NonZeroUsize::MIN);
        PageCache(std::sync::Mutex::new(lru::LruCache::new(size)))
    }

    fn get(&self, key: &PageKey) -> Option<SearchPage> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn put(&self, key: PageKey, page: SearchPage) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, page);
    }
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("concepts", &self.codes.len())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Indexes every concept of the current release of each code system of `registry`.
    pub fn build(registry: &Registry) -> Result<SearchIndex, SearchError> {
        let mut concepts: Vec<(CodeSystem, &Concept)> = CodeSystem::ALL
            .iter()
            .filter_map(|&s| registry.current(s).map(|r| (s, r)))
            .flat_map(|(s, r)| r.concepts.iter().map(move |c| (s, c.as_ref())))
            .collect();
        // The ordinal of a document is its position in this order, and equally scored hits
        // are returned in ordinal order: the shorter display first, then by code. That makes
        // results independent of how documents were spread over segments.
        concepts.sort_by_cached_key(|&(s, c)| {
            (c.display(Language::Zh).chars().count(), c.code.as_str(), s)
        });

        let names = concepts.iter().flat_map(|(_, c)| {
            iter::once(c.display_zh.as_str()).chain(c.synonyms_zh.iter().map(String::as_str))
        });
        let jieba = Arc::new(analysis::lab_jieba(names));

        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        analysis::register_analyzers(&index, jieba);

        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_WRITER_THREADS);
        let mut writer: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(threads, threads * WRITER_BUDGET_PER_THREAD)?;
        // Merging a few fresh segments costs more build time than it saves in search time.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        for (ord, &(system, c)) in concepts.iter().enumerate() {
            writer.add_document(fields.document(system, c, ord as u64))?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;

        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let codes = concepts.iter().map(|(_, c)| c.code.clone()).collect();
        let large_systems = CodeSystem::ALL
            .iter()
            .copied()
            .filter(|&system| {
                2 * concepts.iter().filter(|&&(s, _)| s == system).count() >= concepts.len()
            })
            .collect();
        // The reader never reloads (the index is never written again), so its segments, and the
        // segment ordinals a collector is given, are these for the life of the index.
        let systems = reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|segment| {
                let ords = segment.fast_fields().u64(ORD)?;
                Ok((0..segment.max_doc())
                    .map(|doc| {
                        ords.first(doc)
                            .and_then(|ord| usize::try_from(ord).ok())
                            .and_then(|ord| concepts.get(ord))
                            .map_or(CodeSystem::National, |&(s, _)| s)
                    })
                    .collect())
            })
            .collect::<Result<_, SearchError>>()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            codes,
            systems,
            large_systems,
            pages: PageCache::new(),
        })
    }

    /// How many concepts the index holds, over all systems.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the index holds no concept.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Ranked search of `text` among the concepts of `system`: skips `offset` hits and returns
    /// at most `count` codes, best first, with the number of all hits. Empty or blank `text`
    /// gives an empty page.
    pub fn search(
        &self,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, SearchError> {
        // Keyed by the part of the text the search reads: a pasted blob keeps one short key.
        let key = PageKey {
            system,
            text: query::significant(text).to_owned(),
            offset,
            count,
        };
        if count <= MAX_CACHED_COUNT
            && let Some(page) = self.pages.get(&key)
        {
            return Ok(page);
        }
        let page = self.search_uncached(system, text, offset, count)?;
        if count <= MAX_CACHED_COUNT {
            self.pages.put(key, page.clone());
        }
        Ok(page)
    }

    /// [`SearchIndex::search`] without the page cache: what a page costs the first time it is
    /// asked (the benchmarks measure both).
    pub fn search_uncached(
        &self,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, SearchError> {
        self.search_with(Clauses::ALL, system, text, offset, count)
    }

    /// [`SearchIndex::search`] with a choice of clauses, for measuring what each adds.
    pub(crate) fn search_with(
        &self,
        clauses: Clauses,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, SearchError> {
        self.page(
            clauses,
            system,
            self.by_collector(system),
            text,
            offset,
            count,
        )
    }

    /// [`SearchIndex::search_with`], keeping the system's documents in the collector or with a
    /// clause as asked (see [`SearchIndex::by_collector`]).
    pub(crate) fn page(
        &self,
        clauses: Clauses,
        system: CodeSystem,
        by_collector: bool,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, SearchError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(SearchPage::default());
        }
        let searcher = self.reader.searcher();
        let query = query::build(
            &self.index,
            &searcher,
            &self.fields,
            clauses,
            (!by_collector).then_some(system),
            text,
        )?;

        // Clamping keeps an absurd offset or count from sizing the collector's buffer.
        let docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let offset = offset.min(docs);
        let count = count.min(docs - offset);
        if count == 0 {
            let total = self.collect(&searcher, &*query, system, by_collector, Count)?;
            return Ok(SearchPage {
                total,
                codes: Vec::new(),
            });
        }
        let top = TopDocs::with_limit(count).and_offset(offset).order_by((
            SortBySimilarityScore,
            (SortByStaticFastValue::<u64>::for_field(ORD), Order::Asc),
        ));
        let (hits, total) = self.collect(&searcher, &*query, system, by_collector, (top, Count))?;
        let codes = hits
            .into_iter()
            .filter_map(|((_score, ord), _)| {
                let ord = usize::try_from(ord?).ok()?;
                self.codes.get(ord).cloned()
            })
            .collect();
        Ok(SearchPage { total, codes })
    }

    /// Whether a search of `system` keeps the system's documents in the collector
    /// ([`InSystem`]) rather than with a `+system:` clause in the query. The clause makes tantivy
    /// intersect the system's postings with the text's: cheap when the system is a small part
    /// of the index (the national registry next to LOINC), but when it is most of the index the
    /// intersection seeks the text's union of clauses once per document of the system, and that
    /// was two thirds of a broad search's time (`serum` over a 100k-term LOINC release). The
    /// scores are the same either way: the clause scores nothing.
    fn by_collector(&self, system: CodeSystem) -> bool {
        self.large_systems.contains(&system)
    }

    /// Runs `collector` over the hits of `query` in `system`, keeping the system's documents
    /// itself when `by_collector` (see [`SearchIndex::by_collector`]).
    fn collect<C>(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn tantivy::query::Query,
        system: CodeSystem,
        by_collector: bool,
        collector: C,
    ) -> Result<C::Fruit, SearchError>
    where
        C: Collector + Send + Sync,
    {
        if !by_collector {
            return Ok(searcher.search(query, &collector)?);
        }
        let in_system = InSystem {
            system,
            systems: self.systems.clone(),
            inner: collector,
        };
        Ok(searcher.search(query, &in_system)?)
    }

    /// The best `count` hits of `text` in `system` with their scores, best first: what
    /// [`crate::suggest()`] fuses from several searches. Blank `text` gives no hit.
    pub(crate) fn scored_hits(
        &self,
        system: CodeSystem,
        text: &str,
        count: usize,
    ) -> Result<Vec<(&str, Score)>, SearchError> {
        let text = text.trim();
        if text.is_empty() || count == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let by_collector = self.by_collector(system);
        let query = query::build(
            &self.index,
            &searcher,
            &self.fields,
            Clauses::ALL,
            (!by_collector).then_some(system),
            text,
        )?;
        let top = TopDocs::with_limit(count).order_by((
            SortBySimilarityScore,
            (SortByStaticFastValue::<u64>::for_field(ORD), Order::Asc),
        ));
        let hits = self.collect(&searcher, &*query, system, by_collector, top)?;
        Ok(hits
            .into_iter()
            .filter_map(|((score, ord), _)| {
                let ord = usize::try_from(ord?).ok()?;
                Some((self.codes.get(ord)?.as_str(), score))
            })
            .collect())
    }
}

/// A collector that passes on to `inner` only the hits of one system, looked up by segment
/// and document id in a table made when the index was built: a byte per document, where
/// tantivy's `FilterCollector` decodes a fast field for each hit.
struct InSystem<C> {
    system: CodeSystem,
    systems: Arc<[Vec<CodeSystem>]>,
    inner: C,
}

struct InSystemSegment<S> {
    system: CodeSystem,
    systems: Arc<[Vec<CodeSystem>]>,
    segment: usize,
    inner: S,
}

impl<C: Collector> Collector for InSystem<C> {
    type Fruit = C::Fruit;
    type Child = InSystemSegment<C::Child>;

    fn for_segment(
        &self,
        segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(InSystemSegment {
            system: self.system,
            systems: self.systems.clone(),
            segment: usize::try_from(segment).unwrap_or(usize::MAX),
            inner: self.inner.for_segment(segment, reader)?,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        self.inner.merge_fruits(fruits)
    }
}

impl<S: SegmentCollector> SegmentCollector for InSystemSegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: tantivy::DocId, score: Score) {
        let of = self
            .systems
            .get(self.segment)
            .and_then(|docs| docs.get(doc as usize));
        if of == Some(&self.system) {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> S::Fruit {
        self.inner.harvest()
    }
}

impl ConceptSearch for SearchIndex {
    fn search(
        &self,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, PortError> {
        SearchIndex::search(self, system, text, offset, count)
            .map_err(|e| PortError::Backend(e.to_string()))
    }
}

impl huren_core::ports::ConceptSuggest for SearchIndex {
    fn suggest(
        &self,
        registry: &huren_core::Registry,
        approved: &[(huren_core::HospitalId, String, String)],
        request: &huren_core::ports::SuggestRequest<'_>,
    ) -> huren_core::ports::Suggestions {
        let approved: Vec<(String, String, String)> = approved
            .iter()
            .map(|(h, name, code)| (h.to_string(), name.clone(), code.clone()))
            .collect();
        let evidence = crate::Evidence::new(&approved);
        let query = crate::SuggestQuery {
            name: request.name,
            unit: request.unit,
            specimen: request.specimen,
        };
        let found = crate::suggest(registry, self, &evidence, &query, request.limit);
        huren_core::ports::Suggestions {
            abstain: crate::abstains(&found),
            codes: found
                .into_iter()
                .map(|s| huren_core::ports::SuggestedCode {
                    system: s.system,
                    code: s.code,
                    score: s.score,
                    confidence: s.confidence,
                    reasons: s
                        .reasons
                        .iter()
                        .map(|r| huren_core::ports::SuggestReason {
                            code: r.code(),
                            zh: r.zh(),
                            en: r.en(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
