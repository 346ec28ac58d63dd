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

diesel::joinable!(concepts -> releases (release_id));
diesel::allow_tables_to_appear_in_same_query!(releases, concepts);
