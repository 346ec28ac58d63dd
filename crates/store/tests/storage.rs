//! The same storage tests on SQLite and, when `HUREN_TEST_PG_URL` is set, PostgreSQL.

use huren_core::ports::{PortError, RegistryStore};
use huren_core::{Axes, CodeSystem, Concept, Status};
use huren_store::Store;
use huren_testkit::TestDb;

fn concept(code: &str, with_axes: bool) -> Concept {
    Concept {
        code: code.into(),
        axes: with_axes.then(|| Axes {
            component: "Glucose".into(),
            property: "SCnc".into(),
            time_aspct: "Pt".into(),
            system: "Ser/Plas".into(),
            scale_typ: "Qn".into(),
            method_typ: String::new(),
        }),
        class: "CHEM".into(),
        display_zh: "葡萄糖".into(),
        display_en: "Glucose [Moles/volume] in Serum or Plasma".into(),
        short_name: "Glucose SerPl-sCnc".into(),
        abbreviations: vec!["GLU".into(), "Glu".into()],
        synonyms_zh: vec!["血糖".into(), "空腹血糖".into()],
        synonyms_en: vec!["blood sugar, fasting".into()],
        ucum_unit: "mmol/L".into(),
        molar_mass: Some(180.16),
        status: Status::Active,
        replaced_by: String::new(),
        loinc: "14749-6".into(),
    }
}

fn each_db(test: impl Fn(&TestDb, &Store)) {
    for db in TestDb::all() {
        let store = Store::connect(db.url()).unwrap();
        assert!(
            store.migrate().unwrap() > 0,
            "{db:?}: fresh database, migrations must run"
        );
        assert_eq!(
            store.migrate().unwrap(),
            0,
            "{db:?}: migrations are idempotent"
        );
        test(&db, &store);
    }
}

#[test]
fn releases_round_trip() {
    each_db(|db, store| {
        let mut without_axes = concept("2345-7", false);
        without_axes.molar_mass = None;
        without_axes.abbreviations.clear();
        let concepts = vec![concept("14749-6", true), without_axes];
        let r = store
            .insert_release(CodeSystem::Loinc, "v1", "test.csv", &concepts)
            .unwrap();
        assert_eq!(
            (r.label.as_str(), r.concept_count, r.system),
            ("v1", 2, CodeSystem::Loinc)
        );
        let mut sorted = concepts.clone();
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        assert_eq!(store.release_concepts(r.id).unwrap(), sorted, "{db:?}");
        assert_eq!(
            store.concept(r.id, "14749-6").unwrap(),
            Some(concepts[0].clone())
        );
        assert_eq!(store.concept(r.id, "1-8").unwrap(), None);
        assert_eq!(store.releases().unwrap(), vec![r]);
    });
}

#[test]
fn a_used_label_is_a_conflict_and_writes_nothing() {
    each_db(|db, store| {
        store
            .insert_release(
                CodeSystem::National,
                "2026.1",
                "a",
                &[concept("9000001-9", true)],
            )
            .unwrap();
        let err = store
            .insert_release(
                CodeSystem::National,
                "2026.1",
                "b",
                &[concept("9000002-7", true)],
            )
            .unwrap_err();
        assert!(matches!(err, PortError::Conflict(_)), "{db:?}: {err:?}");
        assert_eq!(store.releases().unwrap().len(), 1);
        // The same label in another system is fine.
        store
            .insert_release(
                CodeSystem::Loinc,
                "2026.1",
                "c",
                &[concept("14749-6", true)],
            )
            .unwrap();
    });
}

#[test]
fn a_failed_insert_rolls_back_the_whole_release() {
    each_db(|db, store| {
        // A duplicate primary key fails the concept insert after the release row was written.
        let dup = vec![concept("14749-6", true), concept("14749-6", true)];
        assert!(
            store
                .insert_release(CodeSystem::Loinc, "dup", "x", &dup)
                .is_err(),
            "{db:?}"
        );
        assert_eq!(
            store.releases().unwrap(),
            vec![],
            "{db:?}: the release row must be rolled back"
        );
    });
}

#[test]
fn large_releases_are_chunked() {
    each_db(|db, store| {
        // More rows than one PostgreSQL statement can bind (65,535 parameters / 20 columns).
        let concepts: Vec<Concept> = (0..7000u32)
            .map(|i| {
                concept(
                    &huren_core::code::national_code(9_000_000 + i).unwrap(),
                    true,
                )
            })
            .collect();
        let r = store
            .insert_release(CodeSystem::National, "big", "x", &concepts)
            .unwrap();
        assert_eq!(store.release_concepts(r.id).unwrap().len(), 7000, "{db:?}");
    });
}

#[test]
fn concurrent_migrations_are_safe() {
    for db in TestDb::all() {
        let url = db.url().to_owned();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || Store::connect(&url).unwrap().migrate().unwrap())
            })
            .collect();
        let applied: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(applied, 1, "{db:?}: exactly one node applies the migration");
    }
}
