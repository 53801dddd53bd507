//! Runs one scenario against one pump: setup, timeline, samples, then the checks.

use super::clock::{DeviceClock, Lost};
use super::sink::Sink;
use crate::checks::{names, BalanceNoise, Judge, ObservedAlarm};
use crate::driver::balance::BalanceDriver;
use crate::driver::pump::{DriverError, DriverEvent, PumpDriver};
use crate::expect::fixture::ExpectedRows;
use crate::expect::{ExpectedAlarmEvent, ExpectedSample};
use crate::protocol::{Event, Fault, FaultKind, Identity, Request, ResponseBody};
use crate::record::{BalanceInfo, DeviceInfo, FileRef, RunEvent, Sample, ScenarioVerdict};
use crate::scenario::{Action, FaultSpec, Scenario};
use std::time::Instant;
use tokio::sync::watch;

/// What the scenario runs against, once its links are open.
pub struct Devices {
    pub pump: PumpDriver,
    pub balance: Option<BalanceDriver>,
    pub device_kind: &'static str,
    pub pump_port: String,
    pub balance_info: Option<BalanceInfo>,
    pub density_g_per_ml: f64,
    /// Virtual device time (emulator) or real time (bench).
    pub virtual_time: bool,
    /// The balance's reading noise, one standard deviation in mg, as declared (the emulator's
    /// `--noise-mg`, a bench balance's `repeatability_mg`); the checks widen for it.
    pub balance_noise_mg: f64,
}

/// Why a scenario stopped before its end.
#[derive(Debug)]
pub enum Interrupted {
    Device(DriverError),
    Balance(String),
    /// The expected trace stopped matching the sample times (its file changed during the run).
    Fixture(String),
    Signal,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interrupted::Device(e) => write!(f, "pump: {e}"),
            Interrupted::Balance(e) => write!(f, "balance: {e}"),
            Interrupted::Fixture(e) => write!(f, "expected trace: {e}"),
            Interrupted::Signal => write!(f, "interrupted by signal"),
        }
    }
}

pub struct Expected<'a> {
    /// The expected volume trace, streamed in step with the samples.
    pub rows: ExpectedRows,
    /// What the record keeps of it for the plots.
    pub plot_rows: &'a [ExpectedSample],
    pub alarms: &'a [ExpectedAlarmEvent],
    pub fixture_files: Vec<FileRef>,
}

fn to_request(action: &Action) -> Request {
    match action {
        Action::ProgramContinuous { dose_ug_per_day } => Request::ProgramContinuous {
            dose_ug_per_day: *dose_ug_per_day,
        },
        Action::ProgramFlexible { steps } => Request::ProgramFlexible {
            steps: steps.iter().map(|s| (*s).into()).collect(),
        },
        Action::Bolus {
            dose_ug,
            duration_ms,
            bridge,
        } => Request::Bolus {
            dose_ug: *dose_ug,
            duration_s: (*duration_ms / 1000) as u32,
            bridge: *bridge,
        },
        Action::Refill {
            volume_nl,
            concentration_ug_per_ml,
            ..
        } => Request::Refill {
            volume_nl: *volume_nl,
            concentration_ug_per_ml: *concentration_ug_per_ml,
        },
        Action::Inject { fault } => Request::InjectFault {
            fault: match *fault {
                FaultSpec::CatheterDisconnect => Fault::CatheterDisconnect,
                FaultSpec::CatheterOcclusion => Fault::CatheterOcclusion,
                FaultSpec::MotorStall => Fault::MotorStall,
                FaultSpec::BatteryCharge { permille } => Fault::BatteryCharge { permille },
                FaultSpec::FlowBias { centi_percent } => Fault::FlowBias { centi_percent },
            },
        },
        Action::Clear { fault } => Request::ClearFault { fault: *fault },
        Action::Acknowledge { alarm } => Request::AcknowledgeAlarm {
            alarm: *alarm,
            action: crate::protocol::AlarmAction::Acknowledge,
        },
        Action::Silence { alarm } => Request::AcknowledgeAlarm {
            alarm: *alarm,
            action: crate::protocol::AlarmAction::Silence,
        },
        Action::Stop => Request::StopTherapy,
        Action::Resume => Request::ResumeTherapy,
        Action::SetThreshold { threshold_nl } => Request::SetLowReservoirThreshold {
            threshold_nl: *threshold_nl,
        },
    }
}

/// The requests that bring a pump to the scenario's starting state, as (label, request).
fn setup_requests(scenario: &Scenario) -> Vec<(String, Request)> {
    let d = &scenario.device;
    let mut out = vec![
        (
            "set low-reservoir threshold".to_string(),
            Request::SetLowReservoirThreshold {
                threshold_nl: d.low_reservoir_threshold_nl,
            },
        ),
        (
            "initial fill".to_string(),
            Request::Refill {
                volume_nl: d.initial_fill_nl,
                concentration_ug_per_ml: d.concentration_ug_per_ml,
            },
        ),
    ];
    if let Some(permille) = d.battery_permille {
        out.push((
            "battery state of charge".to_string(),
            Request::InjectFault {
                fault: Fault::BatteryCharge { permille },
            },
        ));
    }
    out
}

pub fn device_info(identity: &Identity, kind: &str, port: &str) -> DeviceInfo {
    DeviceInfo {
        model: identity.model.clone(),
        serial_number: identity.serial_number.clone(),
        firmware_version: identity.firmware_version.clone(),
        protocol_version: identity.protocol_version,
        reservoir_capacity_nl: identity.reservoir_capacity_nl,
        test_unit: identity.test_unit,
        kind: kind.to_string(),
        port: port.to_string(),
    }
}

/// Event-log entries per read: two keep the answer near the size of a status frame, so a
/// lossy link (1 % of bytes corrupted) still gets most reads through on the first attempt.
const LOG_READ_BATCH: u8 = 2;
/// The longest a scenario goes without reading the event log. At the device's busiest (a
/// high-priority alarm annunciated every 10 min) 4096 entries last 28 days.
const LOG_READ_AT_LEAST_EVERY_MS: u64 = 24 * 60 * 60 * 1000;

struct Execution<'a> {
    scenario: &'a Scenario,
    sink: &'a Sink,
    devices: &'a mut Devices,
    clock: DeviceClock,
    expected_rows: ExpectedRows,
    judge: Judge<'a>,
    /// Scenario time of the latest sample.
    last_sample_ms: u64,
    alarms: Vec<ObservedAlarm>,
    injected: Vec<FaultKind>,
    /// Restore records written so far; each takes the next step index after the timeline.
    restores: usize,
    last_event_seq: Option<u16>,
    /// Index of the first device event-log entry not yet reconciled.
    log_cursor: u32,
    /// Something suggests an alarm transition was lost: read the event log at the next sample.
    log_suspect: bool,
    /// Scenario time of the last event-log read.
    log_read_at_ms: u64,
    /// While the pump is brought to its starting state, alarm transitions are held back: only
    /// alarms still active when setup ends count, as raised at time 0.
    setup: Option<Vec<ObservedAlarm>>,
}

impl Execution<'_> {
    fn id(&self) -> String {
        self.scenario.id.clone()
    }

    /// Ends setup. The pump's status, not the events on the wire, says which alarms stand at
    /// time 0 (an event lost during setup must not hide one); transitions during setup are
    /// listed as a deviation. The event-log cursor starts here.
    async fn end_setup(&mut self) -> Result<(), Interrupted> {
        let held = self.setup.take().unwrap_or_default();
        let status = self.status().await?;
        if held.len() > status.alarms.len() {
            self.deviation(
                Some(0),
                "setup-transient",
                format!(
                    "{} alarm transition(s) while setting up the pump were not counted",
                    held.len() - status.alarms.len()
                ),
            );
        }
        for a in &status.alarms {
            self.sink.emit(RunEvent::Alarm {
                scenario: self.id(),
                t_ms: 0,
                device_time_ms: self.clock.origin_ms(),
                alarm: a.alarm.name().to_string(),
                priority: a.priority.name().to_string(),
                transition: "raised".into(),
                event_seq: self.last_event_seq.unwrap_or(0),
            });
            self.alarms.push(ObservedAlarm {
                t_ms: 0,
                alarm: a.alarm,
                priority: a.priority,
                raised: true,
            });
        }
        self.log_cursor = self.log_total().await?;
        Ok(())
    }

    async fn status(&mut self) -> Result<crate::protocol::Status, Interrupted> {
        match self
            .request(&Request::Status)
            .await
            .map_err(Interrupted::Device)?
        {
            ResponseBody::Status(s) => Ok(s),
            other => Err(Interrupted::Device(DriverError::Protocol(format!(
                "status answered with {other:?}"
            )))),
        }
    }

    /// Up to [`LOG_READ_BATCH`] event-log entries from `first_index` on, and the log's total.
    async fn log_entries(
        &mut self,
        first_index: u32,
    ) -> Result<crate::protocol::EventLogPage, Interrupted> {
        let request = Request::ReadEventLogEntries {
            first_index,
            max_entries: LOG_READ_BATCH,
        };
        match self.request(&request).await.map_err(Interrupted::Device)? {
            ResponseBody::EventLogPage(p) => Ok(p),
            other => Err(Interrupted::Device(DriverError::Protocol(format!(
                "event log answered with {other:?}"
            )))),
        }
    }

    async fn log_total(&mut self) -> Result<u32, Interrupted> {
        Ok(self.log_entries(u32::MAX).await?.total)
    }

    /// Alarms the device says are active that the events did not raise (or the reverse) mean
    /// a transition was lost on the link.
    fn compare_active_alarms(&mut self, status: &crate::protocol::Status) {
        let mut believed: Vec<crate::protocol::AlarmKind> = Vec::new();
        for a in &self.alarms {
            believed.retain(|k| *k != a.alarm);
            if a.raised {
                believed.push(a.alarm);
            }
        }
        let mut reported: Vec<_> = status.alarms.iter().map(|a| a.alarm).collect();
        believed.sort_by_key(|k| *k as u8);
        reported.sort_by_key(|k| *k as u8);
        reported.dedup();
        if believed != reported {
            self.log_suspect = true;
        }
    }

    /// Reads the event log when a transition may have been lost, and at least once a device
    /// day so the log (newest 4096 entries, docs/protocol.md 12.10) cannot wrap unread.
    async fn reconcile_if_due(&mut self, t_ms: u64) -> Result<(), Interrupted> {
        if self.log_suspect || t_ms >= self.log_read_at_ms + LOG_READ_AT_LEAST_EVERY_MS {
            self.reconcile(t_ms).await?;
        }
        Ok(())
    }

    /// The device's event log is the authority on alarm transitions: any raise or clear logged
    /// since the last look that did not arrive as an event frame (lost on the link) is added
    /// with its logged device time and recorded as recovered.
    async fn reconcile(&mut self, t_ms: u64) -> Result<(), Interrupted> {
        self.log_suspect = false;
        self.log_read_at_ms = t_ms;
        loop {
            let cursor = self.log_cursor;
            let page = self.log_entries(cursor).await?;
            if page.first_index > cursor {
                self.deviation(
                    None,
                    "event-log-overrun",
                    format!(
                        "event log entries {cursor}..{} were overwritten before they were read",
                        page.first_index
                    ),
                );
            }
            for entry in &page.entries {
                self.recover_logged_transition(entry);
            }
            self.log_cursor = page.first_index.max(cursor) + page.entries.len() as u32;
            if page.entries.is_empty() || self.log_cursor >= page.total {
                break;
            }
        }
        self.alarms.sort_by_key(|a| a.t_ms);
        Ok(())
    }

    /// Adds a logged alarm raise or clear that no event frame reported.
    fn recover_logged_transition(&mut self, entry: &crate::protocol::LogEntry) {
        let raised = match entry.kind {
            crate::protocol::LogEntryKind::AlarmRaised => true,
            crate::protocol::LogEntryKind::AlarmCleared => false,
            _ => return,
        };
        let Some(alarm) = crate::protocol::AlarmKind::from_wire(entry.code) else {
            return;
        };
        let t_ms = entry.device_time_ms.saturating_sub(self.clock.origin_ms());
        if self
            .alarms
            .iter()
            .any(|a| a.alarm == alarm && a.raised == raised && a.t_ms == t_ms)
        {
            return;
        }
        let priority = if raised {
            u8::try_from(entry.value)
                .ok()
                .and_then(crate::protocol::Priority::from_wire)
                .unwrap_or(crate::protocol::Priority::Low)
        } else {
            self.alarms
                .iter()
                .rev()
                .find(|a| a.alarm == alarm && a.raised)
                .map(|a| a.priority)
                .unwrap_or(crate::protocol::Priority::Low)
        };
        self.deviation(
            Some(t_ms),
            "event-recovered",
            format!(
                "{alarm} {} at {} was lost on the link and recovered from the device's event log",
                if raised { "raised" } else { "cleared" },
                crate::scenario::duration::format_duration(t_ms)
            ),
        );
        self.sink.emit(RunEvent::Alarm {
            scenario: self.id(),
            t_ms,
            device_time_ms: entry.device_time_ms,
            alarm: alarm.name().to_string(),
            priority: priority.name().to_string(),
            transition: if raised { "raised" } else { "cleared" }.into(),
            event_seq: 0,
        });
        self.alarms.push(ObservedAlarm {
            t_ms,
            alarm,
            priority,
            raised,
        });
    }

    fn deviation(&self, t_ms: Option<u64>, kind: &str, detail: String) {
        self.sink.emit(RunEvent::Deviation {
            scenario: Some(self.id()),
            t_ms,
            kind: kind.to_string(),
            detail,
        });
    }

    /// Moves driver events (alarms) and driver deviations (retries, bad frames) into the record.
    fn drain(&mut self) {
        for event in self.devices.pump.drain_events() {
            match event {
                DriverEvent::Event { seq, event } => {
                    self.last_event_seq = Some(seq);
                    let origin = self.clock.origin_ms();
                    let (device_time_ms, alarm, priority, transition) = match event {
                        Event::AlarmRaised {
                            device_time_ms,
                            alarm,
                            priority,
                        } => (device_time_ms, alarm, Some(priority), "raised"),
                        Event::AlarmCleared {
                            device_time_ms,
                            alarm,
                        } => (device_time_ms, alarm, None, "cleared"),
                        Event::TherapyStateChanged { .. } => continue,
                    };
                    let t_ms = device_time_ms.saturating_sub(origin);
                    // A clear carries no priority: it is the priority the alarm was raised with.
                    let priority = priority
                        .or_else(|| {
                            self.alarms
                                .iter()
                                .rev()
                                .find(|a| a.alarm == alarm && a.raised)
                                .map(|a| a.priority)
                        })
                        .unwrap_or(crate::protocol::Priority::Low);
                    let observed = ObservedAlarm {
                        t_ms,
                        alarm,
                        priority,
                        raised: transition == "raised",
                    };
                    if self.alarms.iter().any(|a| {
                        a.alarm == observed.alarm
                            && a.raised == observed.raised
                            && a.t_ms == observed.t_ms
                    }) {
                        continue; // already recovered from the event log
                    }
                    if let Some(held) = &mut self.setup {
                        held.push(observed);
                        continue;
                    }
                    self.alarms.push(observed);
                    self.sink.emit(RunEvent::Alarm {
                        scenario: self.id(),
                        t_ms,
                        device_time_ms,
                        alarm: alarm.name().to_string(),
                        priority: priority.name().to_string(),
                        transition: transition.to_string(),
                        event_seq: seq,
                    });
                }
                DriverEvent::Lost {
                    expected_seq,
                    got_seq,
                } => {
                    self.log_suspect = true;
                    self.deviation(None, "lost-event", format!("device event sequence jumped from {expected_seq} to {got_seq}: {} event(s) lost", got_seq.wrapping_sub(expected_seq)));
                }
            }
        }
        for d in self.devices.pump.take_deviations() {
            self.deviation(None, &format!("{:?}", d.kind).to_lowercase(), d.detail);
        }
    }

    async fn request(&mut self, request: &Request) -> Result<ResponseBody, DriverError> {
        let result = self.devices.pump.request(request).await;
        self.drain();
        result
    }

    async fn sample(&mut self, t_ms: u64) -> Result<(), Interrupted> {
        let status = self.status().await?;
        self.compare_active_alarms(&status);
        let plant = if self.devices.virtual_time {
            match self
                .request(&Request::ReadPlant)
                .await
                .map_err(Interrupted::Device)?
            {
                ResponseBody::Plant(p) => Some(p),
                _ => None,
            }
        } else {
            None
        };
        let (balance_g, balance_stable) = match &mut self.devices.balance {
            Some(balance) => {
                let reading = balance
                    .weigh_immediate()
                    .await
                    .map_err(|e| Interrupted::Balance(e.to_string()))?;
                (Some(reading.grams), Some(reading.stable))
            }
            None => (None, None),
        };
        let density = self.devices.density_g_per_ml;
        let tip_nl = balance_g.map(|g| (g / density * 1e6).round().max(0.0) as u64);
        let sample = Sample {
            t_ms,
            device_time_ms: status.device_time_ms,
            delivered_nl: status.delivered_nl,
            calculated_nl: status.calculated_reservoir_nl,
            dose_rate_ug_per_day: status.dose_rate_ug_per_day,
            concentration_ug_per_ml: status.concentration_ug_per_ml,
            therapy_state: status.therapy_state.name().to_string(),
            battery_permille: status.battery_permille,
            elective_replacement: status.elective_replacement,
            end_of_service: status.end_of_service,
            active_alarms: status
                .alarms
                .iter()
                .map(|a| a.alarm.name().to_string())
                .collect(),
            balance_g,
            balance_stable,
            tip_nl,
            actual_reservoir_nl: plant.map(|p| p.actual_reservoir_nl),
            pocket_nl: plant.map(|p| p.pocket_nl),
        };
        let expected = match self.expected_rows.next() {
            Some(Ok(row)) if row.t_ms == t_ms => row,
            Some(Ok(row)) => {
                return Err(Interrupted::Fixture(format!(
                    "its next row is at {} ms where the sample is at {t_ms} ms",
                    row.t_ms
                )))
            }
            Some(Err(e)) => return Err(Interrupted::Fixture(e)),
            None => {
                return Err(Interrupted::Fixture(format!(
                    "it ends before the sample at {t_ms} ms"
                )))
            }
        };
        self.judge.observe(&sample, Some(&expected));
        self.last_sample_ms = t_ms;
        self.sink.emit(RunEvent::Sample {
            scenario: self.id(),
            sample,
        });
        Ok(())
    }

    async fn apply(&mut self, index: usize, t_ms: u64, action: &Action) -> Result<(), Interrupted> {
        let request = to_request(action);
        let outcome = match self.request(&request).await {
            Ok(_) => {
                if let Action::Inject { fault } = action {
                    self.injected.push(fault.kind());
                }
                if let Action::Clear { fault } = action {
                    self.injected.retain(|k| k != fault);
                }
                "ok".to_string()
            }
            Err(DriverError::Nack { code, .. }) => {
                self.deviation(
                    Some(t_ms),
                    "step-refused",
                    format!("step {} refused by the device: {code}", index + 1),
                );
                format!("refused: {code}")
            }
            Err(e) => return Err(Interrupted::Device(e)),
        };
        self.sink.emit(RunEvent::StepApplied {
            scenario: self.id(),
            t_ms,
            index,
            action: serde_json::to_value(action).unwrap_or_default(),
            outcome,
        });
        Ok(())
    }

    /// A pocket-fill refill: tell the bench plant what physically goes in before the refill.
    async fn prepare(&mut self, action: &Action) -> Result<(), Interrupted> {
        if let Action::Refill {
            actual_nl: Some(actual),
            ..
        } = action
        {
            self.request(&Request::InjectFault {
                fault: Fault::PhysicalRefillVolume { volume_nl: *actual },
            })
            .await
            .map_err(Interrupted::Device)?;
        }
        Ok(())
    }

    async fn timeline(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), Interrupted> {
        let scenario = self.scenario;
        let mut samples = scenario.sample_times().peekable();
        let mut ti = 0;
        loop {
            if *shutdown.borrow() {
                return Err(Interrupted::Signal);
            }
            let next_step = scenario.steps.get(ti).map(|s| s.at_ms);
            let next_sample = samples.peek().copied();
            let (t, is_step) = match (next_step, next_sample) {
                (Some(a), Some(b)) if a <= b => (a, true),
                (_, Some(b)) => (b, false),
                (Some(a), None) => (a, true),
                (None, None) => {
                    // Whatever the link lost, the log still holds: read it before judging.
                    let end = self.scenario.end_ms;
                    return self.reconcile(end).await;
                }
            };
            tokio::select! {
                result = self.clock.wait_until(&self.devices.pump, self.devices.balance.as_mut(), t) => result.map_err(|lost| match lost {
                    Lost::Pump(e) => Interrupted::Device(e),
                    Lost::Balance(e) => Interrupted::Balance(e.to_string()),
                })?,
                _ = shutdown.changed() => return Err(Interrupted::Signal),
            }
            self.drain();
            if is_step {
                let step = &scenario.steps[ti];
                self.prepare(&step.action).await?;
                self.apply(ti, t, &step.action).await?;
                ti += 1;
            } else {
                self.sample(t).await?;
                self.reconcile_if_due(t).await?;
                samples.next();
            }
        }
    }

    /// The pump is gone, so what the scenario injected is still in it: say so where the bench
    /// operator and the reviewer will see it, without waiting for a pump that is not there.
    fn record_unrestored(&mut self, lost: &DriverError) {
        for fault in std::mem::take(&mut self.injected) {
            let outcome = not_restored(fault, &format!("the pump was lost ({lost})"));
            self.record_restore(fault, outcome);
        }
    }

    /// Never leave a pump in an injected fault state: clear what the scenario injected.
    async fn restore(&mut self) {
        for fault in std::mem::take(&mut self.injected) {
            let outcome = match self.request(&Request::ClearFault { fault }).await {
                Ok(_) => "restored".to_string(),
                Err(e) => not_restored(fault, &e.to_string()),
            };
            self.record_restore(fault, outcome);
        }
    }

    fn record_restore(&mut self, fault: FaultKind, outcome: String) {
        self.restores += 1;
        self.sink.emit(RunEvent::StepApplied {
            scenario: self.id(),
            t_ms: self.last_sample_ms,
            index: self.scenario.steps.len() + self.restores - 1,
            action: serde_json::json!({ "action": "restore", "fault": fault.name() }),
            outcome,
        });
    }
}

fn not_restored(fault: FaultKind, why: &str) -> String {
    format!(
        "not restored: {why}; clear the {} fault on the pump before it is used again",
        fault.name()
    )
}

/// Runs a scenario whose devices are open; records everything and returns the verdict.
pub async fn run_scenario(
    scenario: &Scenario,
    expected: Expected<'_>,
    devices: &mut Devices,
    sink: &Sink,
    mut shutdown: watch::Receiver<bool>,
) -> (ScenarioVerdict, Option<String>) {
    let started = Instant::now();
    let id = scenario.id.clone();
    let finish = |verdict: ScenarioVerdict, failed: Vec<String>, reason: Option<String>| {
        sink.emit(RunEvent::ScenarioFinished {
            scenario: id.clone(),
            verdict,
            failed_checks: failed,
            reason: reason.clone(),
            wall_ms: started.elapsed().as_millis() as u64,
        });
        sink.sync();
        (verdict, reason)
    };

    let identity = match devices.pump.request(&Request::Identify).await {
        Ok(ResponseBody::Identity(i)) => i,
        Ok(other) => {
            return finish(
                ScenarioVerdict::Incomplete,
                vec![],
                Some(format!("identify answered with {other:?}")),
            )
        }
        Err(e) => {
            return finish(
                ScenarioVerdict::Incomplete,
                vec![],
                Some(format!("pump did not identify: {e}")),
            )
        }
    };
    let capacity_nl = scenario.device.reservoir_ml as u64 * crate::units::NL_PER_ML;
    if identity.reservoir_capacity_nl != capacity_nl {
        return finish(
            ScenarioVerdict::Error,
            vec![],
            Some(format!(
                "scenario needs a {} mL reservoir; the pump has {} nL",
                scenario.device.reservoir_ml, identity.reservoir_capacity_nl
            )),
        );
    }
    let origin_ms = match devices.pump.request(&Request::Status).await {
        Ok(ResponseBody::Status(s)) => s.device_time_ms,
        _ => {
            return finish(
                ScenarioVerdict::Incomplete,
                vec![],
                Some("pump did not report status".into()),
            )
        }
    };
    let clock = if devices.virtual_time {
        DeviceClock::Virtual { origin_ms }
    } else {
        DeviceClock::RealTime {
            origin_ms,
            started: Instant::now(),
        }
    };

    sink.emit(RunEvent::ScenarioStarted {
        scenario: id.clone(),
        title: scenario.title.clone(),
        description: scenario.description.clone(),
        requirements: scenario.requirements.clone(),
        hazard: scenario.hazard.clone(),
        negative_control: scenario.negative_control.clone(),
        file: FileRef { path: scenario.path.display().to_string(), sha256: scenario.sha256.clone() },
        fixtures: expected.fixture_files.clone(),
        device: device_info(&identity, devices.device_kind, &devices.pump_port),
        balance: devices.balance_info.clone(),
        end_ms: scenario.end_ms,
        sample_ms: scenario.sample_ms,
        setup: serde_json::json!({ "device": scenario.device, "bench": scenario.bench, "tolerance": scenario.tolerance, "defects": scenario.defects }),
        steps: serde_json::to_value(&scenario.steps).unwrap_or_default(),
        expectations: serde_json::to_value(&scenario.expect).unwrap_or_default(),
        expected_samples: serde_json::to_value(expected.plot_rows.iter().map(|s| (s.t_ms, s.delivered_nl, s.calculated_nl, s.tip_nl, s.actual_nl, s.programmed_nl_per_day)).collect::<Vec<_>>()).unwrap_or_default(),
        expected_alarms: serde_json::to_value(expected.alarms.iter().map(|a| serde_json::json!({"t_ms": a.t_ms, "alarm": a.alarm.name(), "priority": a.priority.name(), "transition": a.transition, "tolerance_ms": a.tolerance_ms})).collect::<Vec<_>>()).unwrap_or_default(),
    });

    let balance_noise_mg = devices.balance_noise_mg;
    let mut run = Execution {
        scenario,
        sink,
        devices,
        clock,
        expected_rows: expected.rows,
        judge: Judge::with_noise(
            scenario,
            BalanceNoise {
                sd_mg: balance_noise_mg,
            },
        ),
        last_sample_ms: 0,
        alarms: Vec::new(),
        injected: Vec::new(),
        restores: 0,
        last_event_seq: None,
        log_cursor: 0,
        log_suspect: false,
        log_read_at_ms: 0,
        setup: Some(Vec::new()),
    };
    let mut interrupted = None;
    for (label, request) in setup_requests(scenario) {
        if let Err(e) = run.request(&request).await {
            interrupted = Some(Interrupted::Device(e));
            run.deviation(Some(0), "setup", format!("{label} failed"));
            break;
        }
    }
    run.drain();
    if interrupted.is_none() {
        if let Err(e) = run.end_setup().await {
            interrupted = Some(e);
        }
    }
    if interrupted.is_none() {
        if let Some(balance) = &mut run.devices.balance {
            if let Err(e) = balance.zero().await {
                interrupted = Some(Interrupted::Balance(format!("zeroing failed: {e}")));
            }
        }
    }
    if interrupted.is_none() {
        if let Err(e) = run.timeline(&mut shutdown).await {
            interrupted = Some(e);
        }
    }
    match &interrupted {
        Some(Interrupted::Device(lost)) => run.record_unrestored(lost),
        _ => run.restore().await,
    }
    run.drain();
    if let Some(reason) = interrupted {
        return finish(
            ScenarioVerdict::Incomplete,
            vec![],
            Some(reason.to_string()),
        );
    }

    let (results, findings) = run.judge.finish(&run.alarms);
    for f in &findings {
        sink.emit(RunEvent::Finding {
            scenario: id.clone(),
            kind: f.kind.name().to_string(),
            t_ms: f.t_ms,
            detail: f.detail.clone(),
        });
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.name.clone())
        .collect();
    // A control is caught only by checks that were judged and failed, not by "not evaluated".
    let judged_failed: Vec<String> = results
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.name.clone())
        .collect();
    for result in results {
        sink.emit(RunEvent::Check {
            scenario: id.clone(),
            result,
        });
    }
    let verdict = match &scenario.negative_control {
        None if failed.is_empty() => ScenarioVerdict::Passed,
        None => ScenarioVerdict::Failed,
        Some(nc) => {
            let caught = nc.must_fail.iter().all(|name| {
                judged_failed
                    .iter()
                    .any(|f| f == name || names::family(f) == name)
            });
            if caught {
                ScenarioVerdict::ControlCaught
            } else {
                ScenarioVerdict::ControlMissed
            }
        }
    };
    let reason = match (&scenario.negative_control, verdict) {
        (Some(nc), ScenarioVerdict::ControlMissed) => {
            Some(format!("required to fail: {}", nc.must_fail.join(", ")))
        }
        _ => None,
    };
    finish(verdict, failed, reason)
}
