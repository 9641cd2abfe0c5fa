//! Black-box tests: each starts the real application on port 0 with its own fresh
//! database (SQLite by default; PostgreSQL when GROUNDSWELL_TEST_DATABASE_URL is set).

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test that cannot set up should stop loudly"
)]

mod fake_fcm;
mod helpers;

mod accounts;
mod auth;
mod browser;
mod cli;
mod contract;
mod devices;
mod errors;
mod experiments;
mod exports;
mod imports;
mod isolation;
mod knocks;
mod layering;
mod ops;
mod pages;
mod push;
mod push_client;
mod schema;
mod turf;
mod walk_lists;
