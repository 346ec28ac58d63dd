//! Laboratory quality data (EQA events, IQC control observations) and the recognition
//! catalogue: core's [`QualityStore`] port.

use crate::schema::{catalogue, eqa_events, iqc_observations};
use crate::{Pools, Store, StoreError, port_error, rows_per_statement};
use diesel::prelude::*;
use diesel::upsert::excluded;
use huren_core::HospitalId;
use huren_core::ports::{PortError, QualityStore};
use huren_core::qc::{ControlObservation, EqaEvent};
use huren_core::recognition::{CatalogueEntry, Scope};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = eqa_events, treat_none_as_default_value = false)]
struct EqaRow {
    hospital_id: String,
    national_code: String,
    program: String,
    event: String,
    event_date: i64,
    samples: i32,
    acceptable: i32,
    passed: Option<bool>,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = iqc_observations, treat_none_as_default_value = false)]
struct IqcRow {
    hospital_id: String,
    national_code: String,
    run_at: i64,
    control_level: String,
    value: f64,
    target_mean: f64,
    target_sd: f64,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = catalogue, treat_none_as_default_value = false)]
struct CatalogueRow {
    scope: String,
    national_code: String,
    validity_days: i32,
    mark: String,
    strict_iqc: bool,
}

/// Counts beyond `i32` are refused by the port's callers' readers (a `u32` parsed from a
/// file); saturate rather than wrap should one ever arrive.
fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Stored counts are non-negative (CHECK constraints).
fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or_default()
}

impl Store {
    fn put_eqa_impl(
        &self,
        hospital: &HospitalId,
        events: &[(String, EqaEvent)],
    ) -> Result<usize, StoreError> {
        use crate::schema::eqa_events::dsl as e;
        let rows: Vec<EqaRow> = events
            .iter()
            .map(|(code, ev)| EqaRow {
                hospital_id: hospital.as_str().to_owned(),
                national_code: code.clone(),
                program: ev.program.clone(),
                event: ev.event.clone(),
                event_date: ev.date,
                samples: to_i32(ev.samples),
                acceptable: to_i32(ev.acceptable),
                passed: ev.passed,
            })
            .collect();
        with_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(8)) {
                diesel::insert_into(e::eqa_events)
                    .values(chunk)
                    .on_conflict((e::hospital_id, e::national_code, e::program, e::event))
                    .do_update()
                    .set((
                        e::event_date.eq(excluded(e::event_date)),
                        e::samples.eq(excluded(e::samples)),
                        e::acceptable.eq(excluded(e::acceptable)),
                        e::passed.eq(excluded(e::passed)),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn eqa_impl(
        &self,
        hospital: &HospitalId,
        national_code: &str,
    ) -> Result<Vec<EqaEvent>, StoreError> {
        use crate::schema::eqa_events::dsl as e;
        let rows: Vec<EqaRow> = with_conn!(self, |conn| e::eqa_events
            .filter(e::hospital_id.eq(hospital.as_str()))
            .filter(e::national_code.eq(national_code))
            .order((e::event_date, e::program, e::event))
            .select(EqaRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            .map(|r| EqaEvent {
                program: r.program,
                event: r.event,
                date: r.event_date,
                samples: to_u32(r.samples),
                acceptable: to_u32(r.acceptable),
                passed: r.passed,
            })
            .collect())
    }

    fn put_iqc_impl(
        &self,
        hospital: &HospitalId,
        observations: &[(String, ControlObservation)],
    ) -> Result<usize, StoreError> {
        use crate::schema::iqc_observations::dsl as q;
        let rows: Vec<IqcRow> = observations
            .iter()
            .map(|(code, o)| IqcRow {
                hospital_id: hospital.as_str().to_owned(),
                national_code: code.clone(),
                run_at: o.run_at,
                control_level: o.level.clone(),
                value: o.value,
                target_mean: o.target_mean,
                target_sd: o.target_sd,
            })
            .collect();
        with_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(7)) {
                diesel::insert_into(q::iqc_observations)
                    .values(chunk)
                    .on_conflict((
                        q::hospital_id,
                        q::national_code,
                        q::run_at,
                        q::control_level,
                    ))
                    .do_update()
                    .set((
                        q::value.eq(excluded(q::value)),
                        q::target_mean.eq(excluded(q::target_mean)),
                        q::target_sd.eq(excluded(q::target_sd)),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn iqc_impl(
        &self,
        hospital: &HospitalId,
        national_code: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ControlObservation>, StoreError> {
        use crate::schema::iqc_observations::dsl as q;
        let rows: Vec<IqcRow> = with_conn!(self, |conn| q::iqc_observations
            .filter(q::hospital_id.eq(hospital.as_str()))
            .filter(q::national_code.eq(national_code))
            .filter(q::run_at.ge(from))
            .filter(q::run_at.lt(to))
            .order((q::run_at, q::control_level))
            .select(IqcRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            .map(|r| ControlObservation {
                run_at: r.run_at,
                level: r.control_level,
                value: r.value,
                target_mean: r.target_mean,
                target_sd: r.target_sd,
            })
            .collect())
    }

    fn put_catalogue_impl(&self, entries: &[CatalogueEntry]) -> Result<usize, StoreError> {
        use crate::schema::catalogue::dsl as c;
        let rows: Vec<CatalogueRow> = entries
            .iter()
            .map(|e| CatalogueRow {
                scope: e.scope.to_string(),
                national_code: e.national_code.clone(),
                validity_days: to_i32(e.validity_days),
                mark: e.mark.clone(),
                strict_iqc: e.strict_iqc,
            })
            .collect();
        with_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(5)) {
                diesel::insert_into(c::catalogue)
                    .values(chunk)
                    .on_conflict((c::scope, c::national_code))
                    .do_update()
                    .set((
                        c::validity_days.eq(excluded(c::validity_days)),
                        c::mark.eq(excluded(c::mark)),
                        c::strict_iqc.eq(excluded(c::strict_iqc)),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn catalogue_impl(&self) -> Result<Vec<CatalogueEntry>, StoreError> {
        use crate::schema::catalogue::dsl as c;
        let rows: Vec<CatalogueRow> = with_conn!(self, |conn| c::catalogue
            .order((c::national_code, c::scope))
            .select(CatalogueRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            // Every stored scope was written from a parsed `Scope`.
            .filter_map(|r| {
                Some(CatalogueEntry {
                    scope: Scope::parse(&r.scope).ok()?,
                    national_code: r.national_code,
                    validity_days: to_u32(r.validity_days),
                    mark: r.mark,
                    strict_iqc: r.strict_iqc,
                })
            })
            .collect())
    }
}

impl QualityStore for Store {
    fn put_eqa_events(
        &self,
        hospital: &HospitalId,
        events: &[(String, EqaEvent)],
    ) -> Result<usize, PortError> {
        self.put_eqa_impl(hospital, events).map_err(port_error)
    }

    fn eqa_events(
        &self,
        hospital: &HospitalId,
        national_code: &str,
    ) -> Result<Vec<EqaEvent>, PortError> {
        Ok(self.eqa_impl(hospital, national_code)?)
    }

    fn put_iqc_observations(
        &self,
        hospital: &HospitalId,
        observations: &[(String, ControlObservation)],
    ) -> Result<usize, PortError> {
        self.put_iqc_impl(hospital, observations)
            .map_err(port_error)
    }

    fn iqc_observations(
        &self,
        hospital: &HospitalId,
        national_code: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ControlObservation>, PortError> {
        Ok(self.iqc_impl(hospital, national_code, from, to)?)
    }

    fn put_catalogue(&self, entries: &[CatalogueEntry]) -> Result<usize, PortError> {
        self.put_catalogue_impl(entries).map_err(port_error)
    }

    fn catalogue(&self) -> Result<Vec<CatalogueEntry>, PortError> {
        Ok(self.catalogue_impl()?)
    }
}
