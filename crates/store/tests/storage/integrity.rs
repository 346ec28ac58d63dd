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
