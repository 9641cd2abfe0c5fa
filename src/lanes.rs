//! Threads of their own for CPU-heavy work, so it never waits in, or fills, the
//! blocking pool that every database call goes through.
//!
//! Tiling a polygon, auto-cutting an area and routing a list take from milliseconds to
//! seconds of pure computation. On the general blocking pool eight large auto-cuts at
//! once left `GET /api/v1/me` waiting up to 11.7 s for a thread to read one row. A
//! [`Lane`] runs such work on a fixed number of threads (one per core by default) and
//! queues the rest: the work is CPU-bound, so more threads would only share the same
//! cores, while database calls keep their own pool free.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// A queue into a few threads kept for one kind of work.
pub struct Lane {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Lane {
    /// Starts `threads` threads named `name-0`, `name-1`, …, each calling `setup` once.
    pub fn start(name: &str, threads: usize) -> Lane {
        let (sender, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(job) = next else { return };
                        // A panic drops the job's reply, which its caller sees as an
                        // error; the thread goes on with the next job.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, lane = name, "could not start a worker thread");
            }
        }
        Lane {
            jobs: Mutex::new(sender),
        }
    }

    /// Runs `f` on the lane and waits for it without blocking the async executor.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| anyhow::anyhow!("the worker threads are gone"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("a job on the worker threads failed"))
    }
}

/// The cores of this machine, at least one.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Runs geometry, auto-cut or routing work on the compute lane (one thread per core).
pub async fn compute<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static LANE: OnceLock<Lane> = OnceLock::new();
    LANE.get_or_init(|| Lane::start("compute", cores()))
        .run(f)
        .await
}

/// The lane for password hashing: one thread per core, at most four, each keeping its
/// own Argon2 memory (see [`crate::auth::password`]).
pub fn hashing() -> &'static Lane {
    static LANE: OnceLock<Lane> = OnceLock::new();
    LANE.get_or_init(|| Lane::start("argon2", cores().min(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_lane_answers_every_caller_and_survives_a_panic() {
        let lane = Lane::start("test", 2);
        let failed = lane.run(|| -> u32 { panic!("a job that fails") }).await;
        assert!(failed.is_err());
        let answers =
            futures_util::future::join_all((0..16_u32).map(|i| lane.run(move || i * 2))).await;
        let answers: Vec<u32> = answers.into_iter().map(|a| a.unwrap_or(u32::MAX)).collect();
        assert_eq!(answers, (0..16).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[actix_web::test]
    async fn compute_work_does_not_take_the_blocking_pool() {
        // Every compute thread busy for a while: a blocking-pool call still runs.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let busy: Vec<_> = (0..cores())
            .map(|_| {
                let gate = gate.clone();
                actix_web::rt::spawn(compute(move || {
                    let _ = gate.lock().map(|g| g.recv());
                }))
            })
            .collect();
        let answered = actix_web::web::block(|| 42).await;
        assert_eq!(answered.ok(), Some(42));
        for _ in 0..busy.len() {
            let _ = release.send(());
        }
        for job in busy {
            assert!(job.await.is_ok());
        }
    }
}
