//! diesel table definitions, written by hand to match `migrations/` (both dialects).

diesel::table! {
    releases (id) {
        id -> BigInt,
        system -> Text,
        label -> Text,
        imported_at -> Text,
        source -> Text,
        concept_count -> BigInt,
    }
}

diesel::table! {
    concepts (release_id, code) {
        release_id -> BigInt,
        code -> Text,
        component -> Nullable<Text>,
        property -> Nullable<Text>,
        time_aspct -> Nullable<Text>,
        system_axis -> Nullable<Text>,
        scale_typ -> Nullable<Text>,
        method_typ -> Nullable<Text>,
        class -> Text,
        display_zh -> Text,
        display_en -> Text,
        short_name -> Text,
        abbreviations -> Text,
        synonyms_zh -> Text,
        synonyms_en -> Text,
        ucum_unit -> Text,
        molar_mass -> Nullable<Double>,
        status -> Text,
        replaced_by -> Text,
        loinc -> Text,
    }
}

diesel::table! {
    hospitals (id) {
        id -> Text,
        name -> Text,
        province -> Text,
        city -> Text,
        level -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        alliances -> Text,
        iqc_rules -> Text,
        harmonized_intervals -> Bool,
        accreditation -> Text,
        accredited_until -> Text,
    }
}

diesel::table! {
    mappings (hospital_id, local_code) {
        hospital_id -> Text,
        local_code -> Text,
        local_name -> Text,
        specimen -> Text,
        unit -> Text,
        ref_low -> Nullable<Double>,
        ref_high -> Nullable<Double>,
        ref_text -> Text,
        method -> Text,
        note -> Text,
        national_code -> Text,
        unit_ucum -> Text,
        unit_alias -> Text,
        equivalence -> Text,
        status -> Text,
        proposed_by -> Text,
        updated_by -> Text,
        updated_at -> BigInt,
        loinc -> Text,
    }
}

diesel::table! {
    mapping_history (id) {
        id -> BigInt,
        hospital_id -> Text,
        local_code -> Text,
        at -> BigInt,
        by -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        from_target -> Text,
        to_target -> Text,
        comment -> Text,
        chain_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    observations (id) {
        id -> Text,
        hospital_id -> Text,
        identity -> Text,
        version_id -> BigInt,
        status -> Text,
        held -> Text,
        local_code -> Text,
        national_code -> Text,
        loinc -> Text,
        effective_at -> Nullable<BigInt>,
        resource -> Text,
        source -> Text,
        updated_at -> BigInt,
        recognition -> Text,
        body -> Binary,
    }
}

diesel::table! {
    observation_subjects (observation_id, system, value) {
        observation_id -> Text,
        system -> Text,
        value -> Text,
    }
}

diesel::table! {
    observation_history (observation_id, version_id) {
        observation_id -> Text,
        version_id -> BigInt,
        status -> Text,
        held -> Text,
        resource -> Text,
        source -> Text,
        updated_at -> BigInt,
        recognition -> Text,
        body -> Binary,
    }
}

diesel::table! {
    unmapped_codes (hospital_id, local_code) {
        hospital_id -> Text,
        local_code -> Text,
        local_name -> Text,
        unit -> Text,
        seen_count -> BigInt,
        first_seen -> BigInt,
        last_seen -> BigInt,
    }
}

diesel::joinable!(concepts -> releases (release_id));
diesel::joinable!(observation_subjects -> observations (observation_id));
diesel::table! {
    eqa_events (hospital_id, national_code, program, event) {
        hospital_id -> Text,
        national_code -> Text,
        program -> Text,
        event -> Text,
        event_date -> BigInt,
        samples -> Integer,
        acceptable -> Integer,
        passed -> Nullable<Bool>,
    }
}

diesel::table! {
    iqc_observations (hospital_id, national_code, run_at, control_level) {
        hospital_id -> Text,
        national_code -> Text,
        run_at -> BigInt,
        control_level -> Text,
        value -> Double,
        target_mean -> Double,
        target_sd -> Double,
    }
}

diesel::table! {
    catalogue (scope, national_code) {
        scope -> Text,
        national_code -> Text,
        validity_days -> Integer,
        mark -> Text,
        strict_iqc -> Bool,
    }
}

diesel::table! {
    retests (id) {
        id -> BigInt,
        observation_id -> Text,
        issuer_id -> Text,
        receiver_id -> Text,
        clinician -> Text,
        reason -> Text,
        text -> Text,
        recognizable -> Bool,
        recorded_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        recorded_at -> BigInt,
        agent -> Text,
        role -> Text,
        agent_hospital -> Text,
        address -> Text,
        request -> Text,
        kind -> Text,
        action -> Text,
        outcome -> Text,
        description -> Text,
        site -> Text,
        patients -> Text,
        entities -> Text,
        purpose -> Text,
        purpose_text -> Text,
    }
}

diesel::table! {
    chain_links (hospital_id, seq) {
        hospital_id -> Text,
        seq -> BigInt,
        kind -> Text,
        item -> Text,
        digest -> Binary,
        state -> Binary,
        link -> Binary,
    }
}

diesel::table! {
    chain_heads (hospital_id) {
        hospital_id -> Text,
        seq -> BigInt,
        link -> Binary,
    }
}

diesel::table! {
    mapping_versions (hospital_id) {
        hospital_id -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    chain_backfill (pending) {
        pending -> Bool,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        job_key -> Text,
        state -> Text,
        created_at -> BigInt,
        run_after -> BigInt,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        attempts -> Integer,
        finished_at -> Nullable<BigInt>,
        outcome -> Text,
    }
}

diesel::table! {
    job_schedules (kind) {
        kind -> Text,
        next_at -> BigInt,
    }
}

diesel::joinable!(mappings -> hospitals (hospital_id));
diesel::joinable!(mapping_history -> hospitals (hospital_id));
diesel::allow_tables_to_appear_in_same_query!(
    releases,
    concepts,
    hospitals,
    mappings,
    mapping_history,
    observations,
    observation_subjects,
    observation_history,
    unmapped_codes,
    eqa_events,
    iqc_observations,
    catalogue,
    retests,
    audit_events,
    chain_links,
    chain_heads,
    chain_backfill,
    mapping_versions,
    jobs,
    job_schedules
);
