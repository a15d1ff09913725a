//! Rate limits and daily quotas per client subsystem, kept in this node's memory: a token
//! bucket that refills `per_second` tokens a second (bursts up to one second's worth) and a
//! counter for the current day in Vietnam (UTC+7). With several nodes each enforces its own
//! share; the daily counts in the audit log are the record of what was actually used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use time::{Date, OffsetDateTime, UtcOffset};

use crate::catalog::Limit;

struct Bucket {
    tokens: f64,
    refilled: Instant,
    day: Date,
    used_today: u64,
}

#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Why a call was held back, and when to try again.
#[derive(Debug, PartialEq, Eq)]
pub enum Held {
    Rate { retry_after: u64 },
    Quota { retry_after: u64 },
}

fn vietnam_now() -> OffsetDateTime {
    let offset = UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(offset)
}

impl Limiter {
    /// Takes one call from `client`'s allowance.
    pub fn take(&self, client: &str, limit: Limit) -> Result<(), Held> {
        let now = Instant::now();
        let local = vietnam_now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let rate = f64::from(limit.per_second);
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: rate,
            refilled: now,
            day: local.date(),
            used_today: 0,
        });
        if bucket.day != local.date() {
            bucket.day = local.date();
            bucket.used_today = 0;
        }
        if bucket.used_today >= limit.per_day {
            let midnight = 86_400
                - u64::from(local.time().hour()) * 3600
                - u64::from(local.time().minute()) * 60
                - u64::from(local.time().second());
            return Err(Held::Quota {
                retry_after: midnight,
            });
        }
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return Err(Held::Rate { retry_after: 1 });
        }
        bucket.tokens -= 1.0;
        bucket.used_today += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_up_to_the_rate_then_holds() {
        let limiter = Limiter::default();
        let limit = Limit {
            per_second: 3,
            per_day: 1000,
        };
        for _ in 0..3 {
            assert_eq!(limiter.take("c", limit), Ok(()));
        }
        assert_eq!(limiter.take("c", limit), Err(Held::Rate { retry_after: 1 }));
        assert_eq!(limiter.take("other", limit), Ok(()), "per client");
    }

    #[test]
    fn the_daily_quota_holds_until_midnight() {
        let limiter = Limiter::default();
        let limit = Limit {
            per_second: 100,
            per_day: 2,
        };
        assert!(limiter.take("c", limit).is_ok());
        assert!(limiter.take("c", limit).is_ok());
        assert!(matches!(
            limiter.take("c", limit),
            Err(Held::Quota { retry_after }) if (1..=86_400).contains(&retry_after)
        ));
    }
}
