//! Pipelined samples: several Advance and sample requests written at once, their answers read
//! in order, for a device on a link that never loses a frame (the in-process emulator on a
//! clean link). Each request still carries its own number and gets its own answer; only the
//! wait between them is gone.
//!
//! Nothing is re-sent: the device answers a re-send from its cache only for the last request it
//! saw, so an earlier one sent again would be applied again. A missing, garbled or refused
//! answer therefore ends the pipeline with an error, and the caller's scenario with it.

use super::{DriverError, PumpDriver};
use crate::protocol::*;
use tokio::io::AsyncWriteExt;

impl PumpDriver {
    /// Advances the device to each of `times_ms` in turn and returns the bench plant and status
    /// after each advance, every request written before the first answer is read.
    pub async fn advance_and_sample_pipelined(
        &self,
        times_ms: &[u64],
    ) -> Result<Vec<(Plant, Status)>, DriverError> {
        let kind = RequestKind::AdvanceAndSample;
        let mut responses = self.responses.lock().await;
        self.discard_stale(&mut responses);
        if self.shared.lost.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(self.lost());
        }
        let mut sent = Vec::with_capacity(times_ms.len());
        let mut bytes = Vec::new();
        for &to_ms in times_ms {
            let seq = self.next_request_seq();
            let frame = encode_frame(seq, &Message::Request(Request::AdvanceAndSample { to_ms }))
                .map_err(|e| DriverError::Protocol(e.to_string()))?;
            bytes.extend_from_slice(&frame);
            sent.push(seq);
        }
        let written = self.writer.lock().await.write_all(&bytes).await;
        if let Err(e) = written {
            return Err(self.mark_lost(format!("write failed: {e}")));
        }
        let timeout = self.options.timeout(kind);
        let mut answers = Vec::with_capacity(sent.len());
        for seq in sent {
            let frame = match tokio::time::timeout(timeout, responses.recv()).await {
                Err(_) => {
                    return Err(DriverError::Timeout {
                        request: kind,
                        attempts: 1,
                    })
                }
                Ok(None) => return Err(self.mark_lost("the link hung up".into())),
                Ok(Some(None)) => {
                    return Err(DriverError::Protocol(format!(
                        "a garbled frame came where the answer to pipelined {kind:?} (seq {seq}) was due"
                    )))
                }
                Ok(Some(Some(frame))) => frame,
            };
            match frame {
                Frame {
                    seq: answered,
                    message:
                        Message::Response {
                            request: RequestKind::AdvanceAndSample,
                            body: ResponseBody::Sample { plant, status },
                        },
                } if answered == seq => answers.push((plant, status)),
                Frame {
                    seq: answered,
                    message: Message::Nack { code, .. },
                } if answered == seq => {
                    return Err(DriverError::Nack {
                        request: kind,
                        code,
                    })
                }
                other => {
                    return Err(DriverError::Protocol(format!(
                        "pipelined {kind:?} (seq {seq}) was answered with seq {}: {:?}",
                        other.seq, other.message
                    )))
                }
            }
        }
        Ok(answers)
    }
}

#[cfg(test)]
mod tests {
    use crate::driver::balance::BalanceDriver;
    use crate::driver::pump::{DriverError, PumpDriver};
    use crate::emulator::config::EmulatorConfig;
    use crate::emulator::device::Device;
    use crate::emulator::server::{serve_pump, TimeMode};
    use crate::link::memory::memory_pair;
    use crate::protocol::NackCode;
    use std::sync::{Arc, Mutex};

    fn emulator() -> PumpDriver {
        let (host, device) = memory_pair();
        let model = Arc::new(Mutex::new(Device::new(EmulatorConfig::default())));
        tokio::spawn(serve_pump(device, model, TimeMode::Virtual));
        PumpDriver::new(host)
    }

    #[tokio::test]
    async fn answers_come_back_one_per_time_in_order() {
        let pump = emulator();
        let times = [60_000, 120_000, 180_000];
        let answers = pump.advance_and_sample_pipelined(&times).await.unwrap();
        let device_times: Vec<_> = answers.iter().map(|(_, s)| s.device_time_ms).collect();
        assert_eq!(device_times, times);
        // The session goes on with ordinary requests after a pipeline.
        assert_eq!(pump.status().await.unwrap().device_time_ms, 180_000);
    }

    /// The in-process emulator's pump (20 mL filled) and balance, therapy running at 1000 ug/day.
    async fn delivering() -> (PumpDriver, BalanceDriver, crate::emulator::EmulatorHandle) {
        let mut config = EmulatorConfig::default();
        config.pump.initial_fill_nl = 20_000_000;
        let (handle, ports) = crate::emulator::spawn_in_memory(config, false);
        let pump = PumpDriver::new(ports.pump);
        pump.program_continuous(1000).await.unwrap();
        (pump, BalanceDriver::new(ports.balance), handle)
    }

    #[tokio::test]
    async fn the_balance_streams_the_weight_of_each_pipelined_sample() {
        let times: Vec<u64> = (1..=5).map(|h| h * 3_600_000).collect();
        let (pump, mut streaming, _pipelined) = delivering().await;
        let first = streaming.start_stream().await.unwrap();
        let answers = pump.advance_and_sample_pipelined(&times).await.unwrap();
        let mut streamed = vec![first];
        for _ in &times {
            streamed.push(streaming.next_streamed().await.unwrap());
        }
        // The same device sampled one request at a time, weighed with SI after each advance.
        let (pump, mut balance, _one_by_one) = delivering().await;
        let mut weighed = vec![balance.weigh_immediate().await.unwrap()];
        for (to_ms, answer) in times.iter().zip(&answers) {
            assert_eq!(&pump.advance_and_sample(*to_ms).await.unwrap(), answer);
            weighed.push(balance.weigh_immediate().await.unwrap());
        }
        assert_eq!(streamed, weighed);
        assert!(
            streamed.windows(2).all(|w| w[1].grams > w[0].grams),
            "each weight is later than the one before: {streamed:?}"
        );
        // A command ends the stream: the balance answers it, not with a streamed line.
        assert_eq!(streaming.weigh_immediate().await.unwrap(), weighed[5]);
    }

    #[tokio::test]
    async fn a_refused_advance_ends_the_pipeline_with_its_nack() {
        let pump = emulator();
        pump.advance_to(600_000).await.unwrap();
        // Back in time: the device refuses the first; the pipeline reports it.
        let err = pump
            .advance_and_sample_pipelined(&[60_000, 700_000])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DriverError::Nack {
                    code: NackCode::OutOfRange,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
