//! Limits failed sign-in attempts per client address (an IPv6 /64 counts as one). The per-account lockout stops
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
    /// Counts an attempt from `address` before it is checked, in the same step as the look
    /// at the count, so concurrent attempts cannot all pass one check; `Err(seconds to
    /// wait)` once the address has used up its failures. A right answer gives it back
    /// with `release`.
    pub fn reserve(&self, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let entry = windows
            .entry(web::auth::client_block(address))
            .or_insert((now, 0));
        let elapsed = now.duration_since(entry.0);
        if elapsed >= WINDOW {
            *entry = (now, 0);
        } else if entry.1 >= MAX_FAILURES {
            return Err((WINDOW - elapsed).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Gives back an attempt that turned out not to be a failure.
    pub fn release(&self, address: IpAddr) {
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if let Some(entry) = windows.get_mut(&web::auth::client_block(address)) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_one_ipv6_block_share_their_failures() {
        let throttle = FailureThrottle::default();
        let block: std::net::Ipv6Addr = "2001:db8:7:1::".parse().unwrap();
        for host in 0..u128::from(MAX_FAILURES) {
            let rotated = std::net::Ipv6Addr::from_bits(block.to_bits() | (host + 1));
            assert!(throttle.reserve(rotated.into()).is_ok());
        }
        let next: IpAddr = "2001:db8:7:1:ffff::9".parse().unwrap();
        assert!(
            throttle.reserve(next).is_err(),
            "a new address in the /64 is held back"
        );
        let neighbour: IpAddr = "2001:db8:7:2::1".parse().unwrap();
        assert!(throttle.reserve(neighbour).is_ok(), "another /64 is not");
    }

    #[test]
    fn an_address_is_held_back_after_its_failures_and_others_are_not() {
        let throttle = FailureThrottle::default();
        let spray: IpAddr = [203, 0, 113, 7].into();
        let other: IpAddr = [198, 51, 100, 1].into();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.reserve(spray).is_ok());
        }
        let wait = throttle.reserve(spray).err();
        assert!(
            wait.is_some_and(|s| s > 0 && s <= WINDOW.as_secs()),
            "{wait:?}"
        );
        assert!(throttle.reserve(other).is_ok());
        throttle.release(spray);
        assert!(
            throttle.reserve(spray).is_ok(),
            "a released attempt is given back"
        );
        assert!(throttle.reserve(spray).is_err());
    }
}
