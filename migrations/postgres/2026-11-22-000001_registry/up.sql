-- Registry releases and their concepts (PostgreSQL dialect; keep in step with ../../sqlite).
CREATE TABLE releases (
    id BIGSERIAL PRIMARY KEY,
    system TEXT NOT NULL,
    label TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    source TEXT NOT NULL,
    concept_count BIGINT NOT NULL,
    UNIQUE (system, label)
);

CREATE TABLE concepts (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    code TEXT NOT NULL,
    -- The six axes are all NULL when the source table does not carry them.
    component TEXT,
    property TEXT,
    time_aspct TEXT,
    system_axis TEXT,
    scale_typ TEXT,
    method_typ TEXT,
    class TEXT NOT NULL,
    display_zh TEXT NOT NULL,
    display_en TEXT NOT NULL,
    short_name TEXT NOT NULL,
    -- Lists are joined with U+001F (unit separator), which no name contains.
    abbreviations TEXT NOT NULL,
    synonyms_zh TEXT NOT NULL,
    synonyms_en TEXT NOT NULL,
    ucum_unit TEXT NOT NULL,
    molar_mass DOUBLE PRECISION,
    status TEXT NOT NULL,
    replaced_by TEXT NOT NULL,
    loinc TEXT NOT NULL,
    PRIMARY KEY (release_id, code)
);

CREATE INDEX concepts_by_loinc ON concepts (loinc);
