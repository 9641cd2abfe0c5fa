//! Password hashing with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes).
//! Both functions are CPU-heavy on purpose: the server runs them through
//! [`on_hashing_threads`], never on the async executor.

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// A PHC string (`$argon2id$v=19$…`) for the password, with a fresh random salt, made
/// with the argon2 crate's default settings in this thread's reused Argon2 memory
/// ([`with_memory`]): the crate's own `hash_password` allocates 19 MiB afresh for every
/// hash, and ten accepted invites left the server 150 MB larger.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let argon = Argon2::default();
    let params = argon.params().clone();
    let salt = Salt::generate();
    let mut output = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_memory(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, blocks)
    })
    .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| anyhow::anyhow!("writing the hash parameters failed: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("hash output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether the password matches the stored PHC string. A malformed hash never matches.
///
/// Computed as the argon2 crate's own verifier does (parameters, salt and output length
/// from the PHC string, constant-time comparison of the outputs), but in this thread's
/// reused Argon2 memory ([`with_memory`]).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut computed = vec![0_u8; expected.len()];
    let hashed = with_memory(argon.params().block_count(), |blocks| {
        argon.hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut computed,
            blocks,
        )
    });
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|c| &c == expected)
}

/// Runs `f` with this thread's Argon2 working memory of `blocks` blocks, kept between
/// calls. Allocated afresh for every hash, 19 MiB blocks fragmented the allocator's
/// arenas: 20 sign-ins in a row left the server at 330 MB resident.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    thread_local! {
        static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() != blocks {
            // Another size (another cost setting): the old memory goes first.
            *memory = Vec::new();
            memory.resize(blocks, Block::default());
            #[cfg(test)]
            tests::ALLOCATED.with(|n| n.set(n.get() + 1));
        }
        f(memory)
    })
}

/// Spends the same time as a real verification, so an unknown email answers no faster
/// than a wrong password.
pub fn burn_time(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(dummy) = DUMMY.get_or_init(|| hash("not a real password").ok()) {
        let _ = verify(password, dummy);
    }
}

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
    crate::lanes::hashing().run(f).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    thread_local! {
        /// How many times this thread allocated Argon2 memory.
        pub(super) static ALLOCATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn hashing_and_verifying_reuse_one_memory_per_thread() {
        let allocated = std::thread::spawn(|| {
            let first = hash("a new volunteer's password").unwrap_or_default();
            let second = hash("another volunteer's password").unwrap_or_default();
            assert!(verify("a new volunteer's password", &first));
            assert!(verify("another volunteer's password", &second));
            ALLOCATED.with(std::cell::Cell::get)
        })
        .join()
        .unwrap_or(usize::MAX);
        assert_eq!(allocated, 1);
    }

    #[test]
    fn hashes_are_the_crates_own_format() {
        use argon2::password_hash::PasswordVerifier;
        let phc = hash("correct horse battery").unwrap_or_default();
        let parsed = PasswordHash::new(&phc);
        assert!(parsed.is_ok_and(|h| {
            Argon2::default()
                .verify_password(b"correct horse battery", &h)
                .is_ok()
        }));
        let theirs = Argon2::default()
            .hash_password(b"x")
            .map(|h| h.to_string())
            .unwrap_or_default();
        // Same algorithm, version and parameters as the crate writes by default.
        let head = |s: &str| s.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(head(&phc), head(&theirs));
    }

    #[test]
    fn right_password_matches_and_wrong_does_not() {
        let phc = hash("correct horse battery").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse battery!", &phc));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn verification_agrees_with_the_crate_on_other_settings_and_reuses_memory() {
        use argon2::password_hash::PasswordVerifier;
        // Cheaper settings than the default, as an older or tuned hash would carry.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 3, 1, Some(24)).unwrap_or_default(),
        );
        let phc = light
            .hash_password(b"light password")
            .map(|h| h.to_string())
            .unwrap_or_default();
        let crate_says = |pw: &str| {
            PasswordHash::new(&phc)
                .is_ok_and(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        };
        // Alternating sizes on one thread: the kept memory must be resized each time.
        let default_phc = hash("default password").unwrap_or_default();
        for _ in 0..2 {
            assert!(verify("light password", &phc) && crate_says("light password"));
            assert!(!verify("light passwore", &phc) && !crate_says("light passwore"));
            assert!(verify("default password", &default_phc));
        }
        // A hash cut short or with its salt removed never matches.
        assert!(!verify("light password", &phc[..phc.len() - 4]));
        let no_salt: Vec<&str> = phc.split('$').collect();
        assert!(!verify("light password", &no_salt[..4].join("$")));
    }

    #[test]
    fn the_same_password_gets_a_new_salt_each_time() {
        assert_ne!(hash("same password").ok(), hash("same password").ok());
    }
}
