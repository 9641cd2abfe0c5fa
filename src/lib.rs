//! Groundswell: the backend a door-to-door field campaign runs on.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod experiments;
pub mod export;
pub mod extract;
pub mod import;
pub mod knock;
pub mod lanes;
pub mod progress;
pub mod push;
pub mod routes;
pub mod routing;
pub mod scores;
pub mod spatial;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod voter_file;
pub mod walk;
