//! Several benches in one run: bench files may not share a port, every bench is checked before
//! any scenario runs, and a pool hands each scenario a free bench, one scenario at a time each.

use super::bench::{self, Bench};
use super::devices::{self, BenchCheck, OpenFailure};
use super::RunError;
use crate::record::ScenarioVerdict;
use std::sync::Arc;

/// Refuses bench files that share a port (exit 2): two benches would drive one device.
pub fn refuse_shared_ports(benches: &[Arc<Bench>]) -> Result<(), RunError> {
    let ports = |b: &Bench| {
        std::iter::once(b.pump.port.clone())
            .chain(b.balance.iter().map(|bal| bal.link.port.clone()))
            .collect::<Vec<_>>()
    };
    for (i, first) in benches.iter().enumerate() {
        for second in &benches[i + 1..] {
            for a in ports(first) {
                if ports(second).iter().any(|b| bench::same_endpoint(&a, b)) {
                    return Err(RunError::SharedPort {
                        first: first.path.clone(),
                        second: second.path.clone(),
                        port: a,
                    });
                }
            }
        }
    }
    Ok(())
}

/// A bench's failure, naming the bench's station and file (a run may have several).
pub fn naming_bench(bench: &Bench, failure: OpenFailure) -> OpenFailure {
    OpenFailure {
        verdict: failure.verdict,
        message: format!(
            "{} (station {}): {}",
            bench.path.display(),
            bench.station,
            failure.message
        ),
    }
}

/// Checks every bench at once, before any scenario runs: the checks of all of them, or the
/// first failure (refusals, which exit 2, before a device that did not answer).
pub async fn check_benches(
    benches: &[Arc<Bench>],
    needs_balance: bool,
    retries: u32,
) -> Result<Arc<Vec<BenchCheck>>, Arc<OpenFailure>> {
    // Scenarios go to whichever bench is free: with several benches, one without a balance
    // would fail whichever weighed scenario it happened to take.
    if needs_balance && benches.len() > 1 {
        if let Some(b) = benches.iter().find(|b| b.balance.is_none()) {
            return Err(Arc::new(naming_bench(
                b,
                OpenFailure {
                    verdict: ScenarioVerdict::Error,
                    message: "a scenario of the run uses the balance, and this bench file has no [balance]; with several benches each scenario may run on any of them: give every bench a balance, or run the scenarios that weigh on the benches that have one".into(),
                },
            )));
        }
    }
    let handles: Vec<_> = benches
        .iter()
        .cloned()
        .map(|b| {
            tokio::spawn(async move {
                devices::check_bench(&b, needs_balance, retries)
                    .await
                    .map_err(|failure| naming_bench(&b, failure))
            })
        })
        .collect();
    let mut checks = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        match handle.await {
            Ok(Ok(check)) => checks.push(check),
            Ok(Err(failure)) => failures.push(failure),
            Err(e) => failures.push(OpenFailure {
                verdict: ScenarioVerdict::Incomplete,
                message: format!("the bench check stopped: {e}"),
            }),
        }
    }
    failures.sort_by_key(|f| f.verdict != ScenarioVerdict::Error);
    match failures.into_iter().next() {
        Some(failure) => Err(Arc::new(failure)),
        None => Ok(Arc::new(checks)),
    }
}

/// The benches free to run a scenario: a scenario takes one and gives it back when it ends.
#[derive(Clone)]
pub struct BenchPool {
    free: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<usize>>>,
    give_back: tokio::sync::mpsc::UnboundedSender<usize>,
}

/// A bench taken from the pool; it is free again when this is dropped.
pub struct BenchLease {
    /// Which of the run's benches (the order of `--bench`).
    pub index: usize,
    give_back: tokio::sync::mpsc::UnboundedSender<usize>,
}

impl Drop for BenchLease {
    fn drop(&mut self) {
        let _ = self.give_back.send(self.index);
    }
}

impl BenchPool {
    pub fn new(count: usize) -> BenchPool {
        let (give_back, free) = tokio::sync::mpsc::unbounded_channel();
        for index in 0..count {
            let _ = give_back.send(index);
        }
        BenchPool {
            free: Arc::new(tokio::sync::Mutex::new(free)),
            give_back,
        }
    }

    /// Waits for a free bench. The pool holds a sender itself, so the channel never closes
    /// while a scenario waits; the first index is a fallback that cannot be reached.
    pub async fn take(&self) -> BenchLease {
        let index = self.free.lock().await.recv().await.unwrap_or(0);
        BenchLease {
            index,
            give_back: self.give_back.clone(),
        }
    }
}
