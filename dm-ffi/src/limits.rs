//! The limits a session holds its peer to, as C gives them: `dm_core::Limits` itself (C's
//! `dm_limits`), where 0 in a field means its default.

use dm_core::Limits;

/// The limits `given` sets, with the default for each field that is 0.
pub(crate) fn with_defaults(given: &Limits) -> Limits {
    let mut limits = Limits::default();
    for (name, value) in given.settings().filter(|&(_, v)| v > 0) {
        // `settings` names only what `set` takes.
        let _ = limits.set(name, value);
    }
    limits
}
