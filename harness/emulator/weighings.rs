//! The emulated balance's `SIR` stream in virtual time: a new weight each time the pump is
//! sampled (Advance and sample), so pipelined samples each get the weight of their own device
//! time, in order, on the balance's own port.
//!
//! A real balance streaming with `SIR` sends a weight at its update rate (several a second). In
//! virtual time the device's clock only moves when the harness advances it, so the emulated
//! balance updates when a sample advances the device: one line per Advance and sample, none
//! between. The queue holds what the pump side produced until the balance's task writes it.

use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::Notify;

/// What the balance weighs at one sampled device time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weighing {
    pub tip_nl: u64,
    pub now_ms: u64,
}

/// The stream's state, kept with the device model (one lock for both sides).
#[derive(Debug, Default)]
pub struct Weighings {
    streaming: bool,
    queue: VecDeque<Weighing>,
    ready: Arc<Notify>,
}

impl Weighings {
    /// Woken whenever a weighing is queued.
    pub fn ready(&self) -> Arc<Notify> {
        self.ready.clone()
    }

    /// `SIR` in virtual time: from now on every sample queues a weighing.
    pub fn start(&mut self) {
        self.streaming = true;
    }

    /// Any other command ends the stream (MT-SICS); what was not yet sent is dropped with it.
    pub fn stop(&mut self) {
        self.streaming = false;
        self.queue.clear();
    }

    /// The pump was sampled at `now_ms` with `tip_nl` past the catheter tip.
    pub fn sampled(&mut self, tip_nl: u64, now_ms: u64) {
        if self.streaming {
            self.queue.push_back(Weighing { tip_nl, now_ms });
            self.ready.notify_one();
        }
    }

    /// The weighings queued since the last call, oldest first.
    pub fn take(&mut self) -> Vec<Weighing> {
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_started_stream_queues_and_stopping_drops_the_rest() {
        let mut w = Weighings::default();
        w.sampled(1, 10);
        assert!(w.take().is_empty(), "no SIR yet: nothing is streamed");
        w.start();
        w.sampled(2, 20);
        w.sampled(3, 30);
        assert_eq!(
            w.take(),
            [
                Weighing {
                    tip_nl: 2,
                    now_ms: 20
                },
                Weighing {
                    tip_nl: 3,
                    now_ms: 30
                }
            ]
        );
        w.sampled(4, 40);
        w.stop();
        w.sampled(5, 50);
        assert!(w.take().is_empty());
    }
}
