//! The store's runners for handlers, whose work answers with [`ApiError`]: the same as
//! `db::run`, `db::transaction` and `db::write_run`, with the error type fixed so that a
//! closure's `?` knows what to convert into.

use crate::db::{self, DbConnection, DbPool};
use crate::error::ApiError;

pub async fn run<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::run(pool, f).await
}

pub async fn transaction<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::transaction(pool, f).await
}

pub async fn write_run<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::write_run(pool, f).await
}
