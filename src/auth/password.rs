//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes).
//! Both functions are CPU-heavy on purpose: the server runs them through
//! [`on_hashing_threads`], never on the async executor.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A PHC string (`$argon2id$v=19$…`) for the password, with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// Whether the password matches the stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, so an unknown email answers no faster
/// than a wrong password.
pub fn burn_time(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(dummy) = DUMMY.get_or_init(|| hash("not a real password").ok()) {
        let _ = verify(password, dummy);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` (hashing or verifying passwords) on a few threads kept for that, one per
/// core and at most four, and waits for it without blocking the async executor.
///
/// Every Argon2 run takes 19 MiB. On the general blocking pool two hundred phones
/// signing in at once ran sixteen hashes side by side: the server peaked at 390 MB and
/// kept it, as each thread's allocator arena held on to its 19 MiB. Here the memory is
/// bounded by the number of hashing threads, and logins beyond it wait their turn,
/// which costs no throughput: the work is CPU-bound either way.
pub async fn on_hashing_threads<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(f());
    });
    hashing_lane()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job)
        .map_err(|_| anyhow::anyhow!("the password hashing threads are gone"))?;
    answer
        .await
        .map_err(|_| anyhow::anyhow!("a password hashing job failed"))
}

/// The queue into the hashing threads, started on first use.
fn hashing_lane() -> &'static Mutex<mpsc::Sender<Job>> {
    static LANE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    LANE.get_or_init(|| {
        let (sender, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        for i in 0..threads {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
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
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Mutex::new(sender)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_matches_and_wrong_does_not() {
        let phc = hash("correct horse battery").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse battery!", &phc));
        assert!(!verify("anything", "not a phc string"));
    }

    #[actix_web::test]
    async fn hashing_threads_answer_every_caller_and_survive_a_panic() {
        let failed = on_hashing_threads(|| -> u32 { panic!("a job that fails") }).await;
        assert!(failed.is_err());
        let answers =
            futures_util::future::join_all((0..16_u32).map(|i| on_hashing_threads(move || i * 2)))
                .await;
        let answers: Vec<u32> = answers.into_iter().map(|a| a.unwrap_or(u32::MAX)).collect();
        assert_eq!(answers, (0..16).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_same_password_gets_a_new_salt_each_time() {
        assert_ne!(hash("same password").ok(), hash("same password").ok());
    }
}
