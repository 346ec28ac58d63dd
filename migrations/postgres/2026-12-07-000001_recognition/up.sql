-- Mutual recognition: what is kept of each result for the decision, the laboratory profile
-- of each hospital, and the clinicians' retest decisions (PostgreSQL dialect; keep in step with
-- ../../sqlite). Times are Unix milliseconds.

-- JSON of huren_core::recognition::Recorded, or empty for a held result.
ALTER TABLE observations ADD COLUMN recognition TEXT NOT NULL DEFAULT '';

-- huren_core::LabProfile: alliance and named-region ids separated by `;`, the Westgard rule
-- set (empty: the classic one), harmonized reference intervals, ISO 15189 accreditation.
ALTER TABLE hospitals ADD COLUMN alliances TEXT NOT NULL DEFAULT '';
ALTER TABLE hospitals ADD COLUMN iqc_rules TEXT NOT NULL DEFAULT '';
ALTER TABLE hospitals ADD COLUMN harmonized_intervals BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE hospitals ADD COLUMN accreditation TEXT NOT NULL DEFAULT '';
ALTER TABLE hospitals ADD COLUMN accredited_until TEXT NOT NULL DEFAULT '';

-- A receiving clinician's decision to test again (an AuditEvent when served).
CREATE TABLE retests (
    id BIGSERIAL PRIMARY KEY,
    observation_id TEXT COLLATE "C" NOT NULL REFERENCES observations (id),
    issuer_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    receiver_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    clinician TEXT NOT NULL,
    reason TEXT NOT NULL,
    text TEXT NOT NULL,
    recognizable BOOLEAN NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE INDEX retests_by_observation ON retests (observation_id, recorded_at);
CREATE INDEX retests_by_receiver ON retests (receiver_id, recorded_at);
