//! Limits failed sign-in attempts per client address. The per-account lockout stops
//! guessing one account's password; this stops trying one common password across many
//! accounts from one place (password spraying). Counts live in memory: each node limits
//! on its own, which bounds a spray by nodes × limit, and a restart forgives.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per address per window (OWASP Authentication Cheat Sheet: throttle
/// by source as well as by account).
const MAX_FAILURES: u32 = 30;
const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Beyond this many tracked addresses, expired entries are swept before adding more.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Default)]
pub struct FailureThrottle {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureThrottle {
    /// `Err(seconds to wait)` while the address has used up its failures.
    pub fn check(&self, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        match windows.get(&address) {
            Some((started, failures))
                if *failures >= MAX_FAILURES && now.duration_since(*started) < WINDOW =>
            {
                Err((WINDOW - now.duration_since(*started)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, address: IpAddr) {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let entry = windows.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_back_after_its_failures_and_others_are_not() {
        let throttle = FailureThrottle::default();
        let spray: IpAddr = [203, 0, 113, 7].into();
        let other: IpAddr = [198, 51, 100, 1].into();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check(spray).is_ok());
            throttle.record_failure(spray);
        }
        let wait = throttle.check(spray).err();
        assert!(
            wait.is_some_and(|s| s > 0 && s <= WINDOW.as_secs()),
            "{wait:?}"
        );
        assert!(throttle.check(other).is_ok());
    }
}
