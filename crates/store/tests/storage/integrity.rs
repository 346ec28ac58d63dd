//! The hash chains and the audit trail at the storage level, on both databases: every write
//! leaves its audit record and its links in its own transaction; a failed write leaves
//! neither; rows stored before the chains existed are chained once by the migration.

use crate::observations::{each_db, hid, obs};
use crate::{change, mapping};
use huren_core::MappingStatus;
use huren_core::audit::{Actor, AuditContext, AuditQuery};
use huren_core::ports::{AuditStore, MappingStore, ObservationStore};

fn intact(store: &huren_store::Store) -> Vec<(String, i64)> {
    store
        .verify_chains(None)
        .unwrap()
        .into_iter()
        .map(|r| {
            assert!(r.broken.is_none(), "{r:?}");
            (r.hospital, r.links)
        })
        .collect()
}

#[test]
fn writes_carry_their_audit_record_and_links() {
    each_db(|_, store| {
        let nurse = store.acting_as(AuditContext {
            actor: Actor {
                sub: "lis-a".into(),
                role: "system".into(),
                hospital: Some(hid("hosp-a")),
                address: Some("10.0.0.7".into()),
            },
            request: "POST /fhir".into(),
        });
        let batch = vec![
            (obs("hosp-a", "urn:r|1", "5.1"), None),
            (obs("hosp-b", "urn:r|2", "6.2"), None),
        ];
        nurse.write_observations(&batch).unwrap();
        let events = store
            .audit_events(&AuditQuery {
                agent: Some("lis-a".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(e.kind, "results");
        assert_eq!(e.actor.address.as_deref(), Some("10.0.0.7"));
        assert_eq!(e.entities.len(), 2);
        assert!(
            e.patients
                .contains(&"urn:cn:resident-id|420106198001011234".to_owned())
        );
        // Two hospitals: no single site.
        assert_eq!(e.site, None);
        let chains = intact(store);
        assert!(chains.contains(&("hosp-a".into(), 1)), "{chains:?}");
        assert!(chains.contains(&("hosp-b".into(), 1)), "{chains:?}");

        // A batch that fails (an unknown hospital) leaves no record and no link.
        let bad = vec![(obs("hosp-zz", "urn:r|3", "1.0"), None)];
        assert!(nurse.write_observations(&bad).is_err());
        assert_eq!(
            store
                .audit_events(&AuditQuery {
                    agent: Some("lis-a".into()),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
                .len(),
            1
        );
        let m = mapping("hosp-a", "GLU", "9000033-2", MappingStatus::Proposed);
        store
            .apply_mappings(std::slice::from_ref(&m), &[change(&m, 1, "import", None)])
            .unwrap();
        assert!(intact(store).contains(&("hosp-a".into(), 2)));
        // The service's own writes are the service's.
        let mine = store
            .audit_events(&AuditQuery {
                kind: Some("mappings".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(mine[0].actor.sub, "huren");
    });
}

#[test]
fn rows_stored_before_the_chains_are_chained_once() {
    each_db(|db, store| {
        let m = mapping("hosp-a", "GLU", "9000033-2", MappingStatus::Proposed);
        store
            .apply_mappings(std::slice::from_ref(&m), &[change(&m, 1, "import", None)])
            .unwrap();
        let batch = vec![(obs("hosp-a", "urn:r|1", "5.1"), None)];
        store.write_observations(&batch).unwrap();
        let batch = vec![(obs("hosp-a", "urn:r|1", "5.3"), None)];
        store.write_observations(&batch).unwrap();
        let before = intact(store);
        // As a database of the release before the chains: no links, changes without a seq.
        db.execute(
            "DELETE FROM chain_links; DELETE FROM chain_heads; \
             UPDATE mapping_history SET chain_seq = NULL; \
             INSERT INTO chain_backfill (pending) VALUES (TRUE);",
        );
        let report = store.verify_chains(Some(&hid("hosp-a"))).unwrap();
        assert!(report[0].broken.is_some(), "{report:?}");
        store.migrate().unwrap();
        let after = intact(store);
        assert_eq!(before, after);
        // Once only: a second start adds nothing.
        store.migrate().unwrap();
        assert_eq!(intact(store), after);
    });
}

/// A database of the release before 2026-12-14: the results' table with its second unique
/// index, the chain links in a rowid table and in their long form, the patients' identifiers
/// by result and again by patient.
fn as_before_2026_12_14(db: &huren_testkit::TestDb) {
    let (dir, long_form) = if db.is_postgres() {
        (
            "postgres",
            "UPDATE chain_links SET kind = 'observation', \
                 item = 'Observation/' || split_part(item, '/', 1) || '/_history/' \
                     || split_part(item, '/', 2), \
                 state = decode(repeat('00', 32), 'hex') \
             WHERE kind = 'o'; \
             UPDATE chain_links SET kind = 'mapping', \
                 item = 'MappingChange/' || hospital_id || '/' || seq \
             WHERE kind = 'm'; \
             UPDATE chain_links SET state = decode(repeat('00', 32), 'hex') \
             WHERE length(state) = 0;",
        )
    } else {
        (
            "sqlite",
            "UPDATE chain_links SET kind = 'observation', \
                 item = 'Observation/' || substr(item, 1, instr(item, '/') - 1) || '/_history/' \
                     || substr(item, instr(item, '/') + 1), \
                 state = zeroblob(32) \
             WHERE kind = 'o'; \
             UPDATE chain_links SET kind = 'mapping', \
                 item = 'MappingChange/' || hospital_id || '/' || seq \
             WHERE kind = 'm'; \
             UPDATE chain_links SET state = zeroblob(32) WHERE length(state) = 0;",
        )
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    for name in [
        "2026-12-14-000003_subjects_by_patient_only",
        "2026-12-14-000002_observations_by_id_only",
        "2026-12-14-000001_compact_chain_links",
    ] {
        let down = std::fs::read_to_string(format!("{root}/{dir}/{name}/down.sql")).unwrap();
        // As Store::migrate runs SQLite's migrations: foreign keys off, or dropping the
        // results' table would cascade (the bundled SQLite turns them on by default).
        if db.is_postgres() {
            db.execute(&down);
        } else {
            db.execute(&format!("PRAGMA foreign_keys = OFF; {down}"));
        }
    }
    db.execute(&format!(
        "DELETE FROM __diesel_schema_migrations WHERE version IN ('20261214000001', \
         '20261214000002', '20261214000003'); {long_form}"
    ));
}

#[test]
fn the_rebuilding_migrations_keep_every_row_and_every_chain() {
    each_db(|db, store| {
        let m = mapping("hosp-a", "GLU", "9000033-2", MappingStatus::Proposed);
        store
            .apply_mappings(std::slice::from_ref(&m), &[change(&m, 1, "import", None)])
            .unwrap();
        let first = obs("hosp-a", "urn:r|1", "5.1");
        store.write_observations(&[(first.clone(), None)]).unwrap();
        store
            .write_observations(&[(obs("hosp-a", "urn:r|1", "5.3"), None)])
            .unwrap();
        store
            .write_observations(&[(obs("hosp-b", "urn:r|2", "6.0"), None)])
            .unwrap();
        let before = intact(store);
        let read = |store: &huren_store::Store| {
            let current = store.observation(&first.id).unwrap().unwrap();
            let versions = store.observation_versions(&first.id).unwrap();
            (current, versions)
        };
        let rows = read(store);
        assert_eq!((rows.0.subjects.len(), rows.1.len()), (2, 2), "{db:?}");

        as_before_2026_12_14(db);
        assert_eq!(
            intact(store),
            before,
            "{db:?}: the long form reads as the compact one"
        );
        assert_eq!(store.migrate().unwrap(), 3, "{db:?}");
        // Nothing cascaded away with the old table, nothing was rewritten.
        assert_eq!(intact(store), before, "{db:?}");
        assert_eq!(read(store), rows, "{db:?}");
        // Links written now (compact) follow links written before (long) in one chain.
        store
            .write_observations(&[(obs("hosp-a", "urn:r|1", "5.4"), None)])
            .unwrap();
        let after = intact(store);
        assert_eq!(after[0].1, before[0].1 + 1, "{db:?}: {after:?}");
    });
}

/// Audit entities are stored compactly; a search by entity finds a result and its versions in
/// records of either form (records written before keep their entities whole).
#[test]
fn audit_records_are_found_by_entity_in_either_form() {
    each_db(|db, store| {
        let first = obs("hosp-a", "urn:r|1", "5.1");
        store.write_observations(&[(first.clone(), None)]).unwrap();
        let id = &first.id;
        // A record of the release before, its entities whole.
        db.execute(&format!(
            "INSERT INTO audit_events (recorded_at, agent, role, agent_hospital, address, \
             request, kind, action, outcome, description, site, patients, entities, purpose, \
             purpose_text) VALUES (1, 'old', 'system', '', '', 'POST /fhir', 'results', 'C', \
             '0', '', 'hosp-a', '', '\nObservation/{id}/_history/1\nConceptMap/x\n', '', '')"
        ));
        let by = |entity: String| {
            let mut agents: Vec<(String, Vec<String>)> = store
                .audit_events(&AuditQuery {
                    entity: Some(entity),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|e| (e.actor.sub, e.entities))
                .collect();
            agents.sort();
            agents
        };
        let version = format!("Observation/{id}/_history/1");
        let both = vec![
            ("huren".to_owned(), vec![version.clone()]),
            (
                "old".to_owned(),
                vec![version.clone(), "ConceptMap/x".to_owned()],
            ),
        ];
        assert_eq!(by(format!("Observation/{id}")), both, "{db:?}");
        assert_eq!(by(version), both, "{db:?}");
        assert!(
            by(format!("Observation/{id}/_history/2")).is_empty(),
            "{db:?}"
        );
        assert!(by(format!("Observation/{}", &id[..8])).is_empty(), "{db:?}");
        assert_eq!(by("ConceptMap/x".into()).len(), 1, "{db:?}");
        assert!(by("ConceptMap".into()).is_empty(), "{db:?}");
    });
}
