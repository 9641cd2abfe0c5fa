//! The score model on the simulated electorate (see `groundswell::scores::simulate`): the
//! table the README shows, both worlds, every group, mean ± sd over seeds, the oracle
//! beside the model.
//!
//!   cargo bench --bench scores                         # 20 seeds, Liechtenstein + 20,000 doors
//!   SCORES_SEEDS=5 SCORES_SYNTHETIC_DOORS=0 cargo bench --bench scores

use std::time::Instant;

use groundswell::scores::simulate;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to list here.
    }
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seeds = env("SCORES_SEEDS", 20);
    let synthetic = env("SCORES_SYNTHETIC_DOORS", 20_000);
    let points = simulate::door_points(usize::try_from(synthetic).unwrap_or(0), 1);
    println!(
        "{} doors ({} real in Liechtenstein, {synthetic} synthetic), seeds 0..{seeds}",
        points.len(),
        points.len() as u64 - synthetic
    );
    let started = Instant::now();
    println!("{}", simulate::table(0..seeds, &points));
    println!("took {:.1} s", started.elapsed().as_secs_f64());
}
