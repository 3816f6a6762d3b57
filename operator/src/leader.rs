//! Leader election with a `coordination.k8s.io/v1` Lease, so only one operator replica reconciles.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::{SignedDuration, Timestamp},
};
use kube::api::{Api, PostParams};
use tracing::{info, warn};

/// A Lease held by `identity`.
pub struct LeaseLock {
    pub api: Api<Lease>,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
}

/// Pure decision: the lease spec to write if `me` may hold the lease at `now`, else `None`.
pub fn next_spec(
    current: Option<&LeaseSpec>,
    me: &str,
    now: Timestamp,
    duration: Duration,
) -> Option<LeaseSpec> {
    let secs = duration.as_secs() as i32;
    let fresh = LeaseSpec {
        holder_identity: Some(me.into()),
        lease_duration_seconds: Some(secs),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(0),
        ..Default::default()
    };
    let Some(cur) = current else {
        return Some(fresh);
    };
    let holder = cur.holder_identity.as_deref().unwrap_or("");
    if holder == me {
        return Some(LeaseSpec {
            renew_time: Some(MicroTime(now)),
            lease_duration_seconds: Some(secs),
            ..cur.clone()
        });
    }
    let held_for = SignedDuration::from_secs(cur.lease_duration_seconds.unwrap_or(secs) as i64);
    let expired = match &cur.renew_time {
        Some(t) => t.0 + held_for < now,
        None => true,
    };
    if holder.is_empty() || expired {
        Some(LeaseSpec {
            lease_transitions: Some(cur.lease_transitions.unwrap_or(0) + 1),
            ..fresh
        })
    } else {
        None
    }
}

impl LeaseLock {
    /// One attempt to acquire or renew; `Ok(true)` when we hold the lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let current = self.api.get_opt(&self.name).await?;
        let Some(spec) = next_spec(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            now,
            self.duration,
        ) else {
            return Ok(false);
        };
        let result = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                // replace carries the resourceVersion we read: a concurrent writer makes it fail
                lease.spec = Some(spec);
                self.api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Blocks until this replica holds the lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    info!(lease = %self.name, identity = %self.identity, "acquired leadership");
                    return;
                }
                Ok(false) => {}
                Err(e) => warn!(error = %e, "lease acquisition failed"),
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renews forever; returns when leadership is lost (renewal impossible for a whole lease duration).
    pub async fn keep(&self) {
        let mut last_ok = std::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_ok = std::time::Instant::now(),
                Ok(false) => {
                    warn!("lease taken by another replica");
                    return;
                }
                Err(e) => warn!(error = %e, "lease renewal failed"),
            }
            if last_ok.elapsed() > self.duration {
                warn!("could not renew the lease for a whole lease duration");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_free_expired_or_own_lease_only() {
        let d = Duration::from_secs(15);
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mine = next_spec(None, "a", t0, d).unwrap();
        assert_eq!(mine.holder_identity.as_deref(), Some("a"));
        // b cannot take a's fresh lease
        assert!(next_spec(Some(&mine), "b", t0 + SignedDuration::from_secs(5), d).is_none());
        // a renews
        let renewed = next_spec(Some(&mine), "a", t0 + SignedDuration::from_secs(5), d).unwrap();
        assert_eq!(renewed.acquire_time, mine.acquire_time);
        // b takes it once expired
        let taken = next_spec(Some(&renewed), "b", t0 + SignedDuration::from_secs(30), d).unwrap();
        assert_eq!(taken.holder_identity.as_deref(), Some("b"));
        assert_eq!(taken.lease_transitions, Some(1));
    }
}
