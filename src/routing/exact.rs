//! Held–Karp dynamic programming: the exact optimum of the model, for small inputs.

use super::model::Model;

/// The cheapest open path over all stops of `model` (from its start point, if any):
/// O(2ⁿ·n²) time and O(2ⁿ·n) memory, so only for a dozen stops or so.
pub(super) fn held_karp(model: &Model) -> Vec<usize> {
    let n = model.n();
    if n == 0 {
        return Vec::new();
    }
    let full = (1usize << n) - 1;
    let start = model.start_node();
    // best[mask * n + last]: the cheapest path over the stops in `mask` ending at
    // `last`; from[...] the stop before `last` on it.
    let mut best = vec![f64::INFINITY; (full + 1) * n];
    let mut from = vec![usize::MAX; (full + 1) * n];
    for last in 0..n {
        best[(1 << last) * n + last] = model.cost(start, last);
    }
    for mask in 1..=full {
        for last in 0..n {
            let here = best[mask * n + last];
            if mask & (1 << last) == 0 || !here.is_finite() {
                continue;
            }
            for next in 0..n {
                if mask & (1 << next) != 0 {
                    continue;
                }
                let to = (mask | (1 << next)) * n + next;
                let cost = here + model.cost(last, next);
                if cost < best[to] {
                    best[to] = cost;
                    from[to] = last;
                }
            }
        }
    }
    let mut last = 0;
    for candidate in 1..n {
        if best[full * n + candidate] < best[full * n + last] {
            last = candidate;
        }
    }
    let mut path = Vec::with_capacity(n);
    let mut mask = full;
    loop {
        path.push(last);
        let before = from[mask * n + last];
        mask &= !(1 << last);
        if mask == 0 || before >= n {
            break;
        }
        last = before;
    }
    path.reverse();
    path
}
