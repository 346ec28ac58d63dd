//! The integration test binary: spawns the real service on port 0 (SQLite always, PostgreSQL
//! when `HUREN_TEST_PG_URL` is set) and talks HTTP to it.

mod access;
mod audit;
mod auth;
mod bad_input;
mod beyond_registry;
mod corpus;
mod crash;
mod golden;
mod helpers;
mod labs;
mod mappings;
mod mllp;
mod normalize_cli;
mod quality_cli;
mod real_lis;
mod recognition;
mod registry;
mod results;
mod scale_out;
mod seed_files;
mod terminology;
mod tidy;
mod tls;
mod ui;
