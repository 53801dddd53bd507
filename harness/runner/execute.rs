//! Runs one scenario against one pump: setup, the timeline, then the checks. The parts are
//! units of their own: alarm tracking (alarms), samples (sample), the schedule and its waits
//! (timeline), pump requests (steps) and fault restore (restore).

use super::alarms::{AlarmTracker, Tracked};
use super::clock::DeviceClock;
use super::devices::Devices;
use super::restore::{FaultRestore, Restore};
use super::sample::PumpSampling;
use super::sink::Sink;
use super::steps::{self, Setup};
use super::timeline::{self, Interrupted, Moment, Schedule};
use crate::checks::{BalanceNoise, Judge};
use crate::driver::balance::Reading;
use crate::driver::pump::{DriverError, DriverEvent, PumpDriver};
use crate::expect::fixture::ExpectedRows;
use crate::expect::{ExpectedAlarmEvent, ExpectedSample};
use crate::protocol::{EventLogPage, Identity, Plant, Status};
use crate::record::{
    verdict, AlarmTransition, Confirmation, DeviceInfo, DeviceLink, FileRef, Mode, RunEvent,
    ScenarioSetup, ScenarioVerdict, StepAction, StepOutcome, TimeBase,
};
use crate::scenario::{Action, Scenario};
use std::time::Instant;
use tokio::sync::watch;

pub struct Expected<'a> {
    /// The expected volume trace, streamed in step with the samples.
    pub rows: ExpectedRows,
    /// What the record keeps of it for the plots.
    pub plot_rows: &'a [ExpectedSample],
    pub alarms: &'a [ExpectedAlarmEvent],
    pub fixture_files: Vec<FileRef>,
}

pub fn device_info(
    identity: &Identity,
    kind: Mode,
    link: DeviceLink,
    port: &str,
    time_base: TimeBase,
) -> DeviceInfo {
    DeviceInfo {
        model: identity.model.clone(),
        serial_number: identity.serial_number.clone(),
        firmware_version: identity.firmware_version.clone(),
        protocol_version: identity.protocol_version,
        reservoir_capacity_nl: identity.reservoir_capacity_nl,
        test_unit: identity.test_unit,
        kind,
        port: port.to_string(),
        time_base,
        link,
    }
}

/// Event-log entries per read: two keep the answer near the size of a status frame, so a
/// lossy link (1 % of bytes corrupted) still gets most reads through on the first attempt.
const LOG_READ_BATCH: u8 = 2;

struct Execution<'a> {
    scenario: &'a Scenario,
    sink: &'a Sink,
    devices: &'a mut Devices,
    clock: DeviceClock,
    expected_rows: ExpectedRows,
    judge: Judge<'a>,
    /// Scenario time of the latest sample.
    last_sample_ms: u64,
    alarms: AlarmTracker,
    /// Real-time bench: what each status poll showed, on the host's clock.
    sightings: super::sightings::AlarmSightings,
    restore: FaultRestore,
    /// Whether the pump advances and answers a sample in one request.
    sampling: PumpSampling,
    /// False once the device NACKed ReadPlant: it has no bench plant, and is not asked again.
    plant_answered: bool,
    /// Whether the balance streams a weight per sample (`SIR`), for pipelined samples.
    balance_streaming: bool,
}

impl Execution<'_> {
    fn id(&self) -> String {
        self.scenario.id.clone()
    }

    fn deviation(&self, t_ms: Option<u64>, kind: &str, detail: String) {
        self.sink.emit(RunEvent::Deviation {
            scenario: Some(self.id()),
            t_ms,
            kind: kind.to_string(),
            detail,
        });
    }

    fn record(&self, tracked: Tracked) {
        match tracked {
            Tracked::Alarm {
                t_ms,
                device_time_ms,
                alarm,
                priority,
                raised,
                event_seq,
            } => self.sink.emit(RunEvent::Alarm {
                scenario: self.id(),
                t_ms,
                device_time_ms,
                alarm,
                priority,
                transition: if raised {
                    AlarmTransition::Raised
                } else {
                    AlarmTransition::Cleared
                },
                event_seq,
            }),
            Tracked::Deviation { t_ms, kind, detail } => self.deviation(t_ms, kind, detail),
        }
    }

    /// Moves driver events (alarms) and driver deviations (retries, bad frames) into the record.
    fn drain(&mut self) {
        let events = self.devices.pump.drain_events();
        self.track(events);
        self.driver_deviations();
    }

    /// Alarm events from the pump, through the tracker into the record.
    fn track(&mut self, events: Vec<DriverEvent>) {
        for event in events {
            if let Some(tracked) = self.alarms.on_driver_event(event) {
                self.record(tracked);
            }
        }
    }

    /// What the driver saw on the link (retries, bad frames), into the record.
    fn driver_deviations(&mut self) {
        for d in self.devices.pump.take_deviations() {
            self.deviation(None, &format!("{:?}", d.kind).to_lowercase(), d.detail);
        }
    }

    /// A pump request, then what the pump said on the side (events, retries) into the record.
    async fn ask<T>(
        &mut self,
        request: impl AsyncFnOnce(&PumpDriver) -> Result<T, DriverError>,
    ) -> Result<T, DriverError> {
        let result = request(&self.devices.pump).await;
        self.drain();
        result
    }

    /// Ends setup: the alarms the pump's status reports stand at time 0, and the event-log
    /// cursor starts here.
    async fn end_setup(&mut self) -> Result<(), Interrupted> {
        let status = self
            .ask(async |pump| pump.status().await)
            .await
            .map_err(Interrupted::Device)?;
        for tracked in self.alarms.end_setup(&status.alarms) {
            self.record(tracked);
        }
        let total = self.log_page(u32::MAX).await?.total;
        self.alarms.start_log_at(total);
        Ok(())
    }

    /// Up to [`LOG_READ_BATCH`] event-log entries from `first_index` on, and the log's total.
    async fn log_page(&mut self, first_index: u32) -> Result<EventLogPage, Interrupted> {
        self.ask(async |pump| {
            pump.read_event_log_entries(first_index, LOG_READ_BATCH)
                .await
        })
        .await
        .map_err(Interrupted::Device)
    }

    /// Reads the event log from where the last read stopped, so the tracker can recover
    /// transitions lost on the link.
    async fn reconcile(&mut self, t_ms: u64) -> Result<(), Interrupted> {
        let mut from = self.alarms.begin_log_read(t_ms);
        loop {
            let page = self.log_page(from).await?;
            let (records, next) = self.alarms.on_log_page(&page);
            for tracked in records {
                self.record(tracked);
            }
            match next {
                Some(index) => from = index,
                None => return Ok(()),
            }
        }
    }

    /// The bench plant, where the device answers ReadPlant. A NACK means it has none: recorded
    /// once as a deviation, the device is not asked again, and the checks that need the plant
    /// are "not evaluated".
    fn plant_or_not_evaluated(
        &mut self,
        t_ms: u64,
        plant: Option<Result<Plant, DriverError>>,
    ) -> Result<Option<Plant>, Interrupted> {
        match plant {
            None => Ok(None),
            Some(Ok(plant)) => Ok(Some(plant)),
            Some(Err(DriverError::Nack { code, .. })) => {
                self.plant_answered = false;
                self.deviation(
                    Some(t_ms),
                    "plant-not-available",
                    format!("the device NACKed ReadPlant ({code}): the bench plant is not read, and the checks that need it are not evaluated"),
                );
                Ok(None)
            }
            Some(Err(e)) => Err(Interrupted::Device(e)),
        }
    }

    /// Virtual time: advances the pump to scenario time `t_ms` and reads its plant and status in
    /// one request, or `None` when the pump does not have that request (protocol 12.16).
    async fn advance_and_read(
        &mut self,
        t_ms: u64,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<(Plant, Status)>, Interrupted> {
        if *shutdown.borrow() {
            return Err(Interrupted::Signal);
        }
        let to_ms = self.clock.origin_ms() + t_ms;
        let mut sampling = self.sampling;
        let read = tokio::select! {
            read = sampling.advance_and_read(&self.devices.pump, to_ms) => read.map_err(Interrupted::Device),
            _ = shutdown.changed() => Err(Interrupted::Signal),
        };
        self.sampling = sampling;
        self.drain();
        read
    }

    /// Whether samples go out several at once: on virtual time, to a device that takes as many
    /// (`Devices::sample_batch`) and is known to answer Advance and sample.
    fn pipelining(&self) -> bool {
        self.devices.virtual_time
            && self.devices.sample_batch > 1
            && self.sampling == PumpSampling::Combined
    }

    /// Takes the samples at scenario times `times`, their requests written at once and the
    /// balance streaming a weight per sample; each is then judged and recorded as if taken
    /// alone, with the pump's events up to its device time (`runner::batch`).
    async fn pipelined_samples(
        &mut self,
        times: &[u64],
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Interrupted> {
        if *shutdown.borrow() {
            return Err(Interrupted::Signal);
        }
        let origin_ms = self.clock.origin_ms();
        let to_ms: Vec<u64> = times.iter().map(|t| origin_ms + t).collect();
        let pump = &self.devices.pump;
        let balance = self.devices.balance.as_mut();
        let count = times.len();
        let weighed = async move {
            let Some(balance) = balance else {
                return Ok(vec![None; count]);
            };
            let mut readings = Vec::with_capacity(count);
            for _ in 0..count {
                readings.push(Some(balance.next_streamed().await?));
            }
            Ok(readings)
        };
        // Not cut short by a signal: once the requests are written their answers are taken and
        // these samples recorded (within the answers' own timeouts), or the next request would
        // find them and the record would show them as stale. The next batch sees the signal.
        let (answers, readings) = tokio::join!(pump.advance_and_sample_pipelined(&to_ms), weighed);
        let answers = answers.map_err(Interrupted::Device)?;
        let readings = readings.map_err(|e: crate::driver::balance::BalanceError| {
            Interrupted::Balance(e.to_string())
        })?;
        let mut events = super::batch::HeldEvents::new(self.devices.pump.drain_events());
        self.driver_deviations();
        for ((&t_ms, (plant, status)), reading) in times.iter().zip(answers).zip(readings) {
            self.track(events.until(origin_ms + t_ms));
            self.sample(t_ms, Some((plant, status, reading))).await?;
        }
        self.track(events.rest());
        let last_ms = times[times.len() - 1];
        if self.alarms.log_read_due(last_ms) {
            self.reconcile(last_ms).await?;
        }
        Ok(())
    }

    /// The balance reading after an advance, if the scenario weighs. Where samples will be
    /// pipelined, the first reading starts the balance's stream (`SIR` answers the weight now,
    /// as `SI` would), so the readings are the same ones as taken one at a time.
    async fn weigh(&mut self) -> Result<Option<Reading>, Interrupted> {
        let Some(balance) = &mut self.devices.balance else {
            return Ok(None);
        };
        let reading = if self.devices.sample_batch > 1 && !self.balance_streaming {
            self.balance_streaming = true;
            balance.start_stream().await
        } else {
            balance.weigh_immediate().await
        };
        reading
            .map(Some)
            .map_err(|e| Interrupted::Balance(e.to_string()))
    }

    /// Takes the sample at scenario time `t_ms`, the device being there; `read` is the plant,
    /// status and balance reading if they came with the advance.
    async fn sample(
        &mut self,
        t_ms: u64,
        read: Option<(Plant, Status, Option<Reading>)>,
    ) -> Result<(), Interrupted> {
        // On a real-time bench the host times the status request: its sightings bound alarm
        // onsets, and its clock judges the device's (issue 11 §7).
        let sent = self.clock.host_elapsed_ms();
        let (status, plant, reading) = match read {
            Some((plant, status, reading)) => (status, Some(plant), reading),
            None => {
                // The device time stands still (virtual) or is the pump's to report (bench):
                // the pump and the balance are two ports, read at once.
                // Every device is asked for its bench plant until it NACKs ReadPlant.
                let with_plant = self.plant_answered;
                let pump = &self.devices.pump;
                let pump_read = async {
                    let status = pump.status().await?;
                    let plant = if with_plant {
                        Some(pump.plant().await)
                    } else {
                        None
                    };
                    Ok::<_, DriverError>((status, plant))
                };
                let balance = self.devices.balance.as_mut();
                let weighed = async move {
                    match balance {
                        Some(balance) => Some(balance.weigh_immediate().await),
                        None => None,
                    }
                };
                let (pump_read, weighed) = tokio::join!(pump_read, weighed);
                self.drain();
                let (status, plant) = pump_read.map_err(Interrupted::Device)?;
                let plant = self.plant_or_not_evaluated(t_ms, plant)?;
                let reading = weighed
                    .transpose()
                    .map_err(|e| Interrupted::Balance(e.to_string()))?;
                (status, plant, reading)
            }
        };
        self.alarms.compare_active(&status.alarms);
        if let Some(host_sent_ms) = sent {
            let active: Vec<_> = status.alarms.iter().map(|a| a.alarm).collect();
            self.sightings.poll(host_sent_ms, &active);
        }
        if let (Some(host_sent_ms), Some(host_received_ms)) = (sent, self.clock.host_elapsed_ms()) {
            self.judge
                .clock_reading(crate::checks::clock_drift::ClockReading {
                    host_sent_ms,
                    host_received_ms,
                    device_ms: status.device_time_ms,
                });
        }
        let sample = super::sample::assemble(
            t_ms,
            &status,
            plant.as_ref(),
            reading.as_ref(),
            self.devices.density_g_per_ml,
        );
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

    /// A scenario step's answer: judged by `steps-accepted` and recorded.
    fn step_answered(&mut self, index: usize, t_ms: u64, action: &Action, outcome: StepOutcome) {
        self.judge.step_answered(index, t_ms, &outcome);
        self.sink.emit(RunEvent::StepApplied {
            scenario: self.id(),
            t_ms,
            index,
            action: StepAction::Scenario(action.clone()),
            outcome,
        });
    }

    async fn apply(&mut self, index: usize, t_ms: u64, action: &Action) -> Result<(), Interrupted> {
        let outcome = self.send(index, t_ms, action).await?;
        self.step_answered(index, t_ms, action, outcome);
        Ok(())
    }

    /// A step of the timeline; an operator step is done here. In virtual time nobody stands at the bench: the test-mode equivalent
    /// is sent when the step names one, else the harness confirms it. In real time the
    /// operator is shown the instruction and confirms with their initials before the timeout.
    async fn step(
        &mut self,
        index: usize,
        t_ms: u64,
        action: &Action,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Interrupted> {
        let Action::Operator {
            text,
            timeout_ms,
            emulate,
        } = action
        else {
            return self.apply(index, t_ms, action).await;
        };
        let (confirmation, outcome) = if self.devices.virtual_time {
            match emulate {
                Some(emulated) => {
                    let outcome = self.send(index, t_ms, emulated).await?;
                    (
                        Confirmation::Emulated {
                            outcome: outcome.clone(),
                        },
                        outcome,
                    )
                }
                None => (Confirmation::Automatic, StepOutcome::Ok),
            }
        } else {
            self.sink.emit(RunEvent::OperatorWaiting {
                scenario: self.id(),
                t_ms,
                index,
                instruction: text.clone(),
                timeout_ms: *timeout_ms,
            });
            let timeout = std::time::Duration::from_millis(*timeout_ms);
            let confirmed = tokio::select! {
                confirmed = super::operator::terminal().confirm(timeout) => confirmed,
                _ = shutdown.changed() => return Err(Interrupted::Signal),
            };
            match confirmed {
                Ok(initials) => (Confirmation::Operator { initials }, StepOutcome::Ok),
                Err(why) => {
                    return Err(Interrupted::Operator(format!(
                        "{} ({text:?}): {why}",
                        index + 1
                    )))
                }
            }
        };
        let host_utc = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let status = self
            .ask(async |pump| pump.status().await)
            .await
            .map_err(Interrupted::Device)?;
        self.sink.emit(RunEvent::OperatorConfirmed {
            scenario: self.id(),
            t_ms,
            index,
            instruction: text.clone(),
            confirmation,
            host_utc,
            device_time_ms: status.device_time_ms,
        });
        self.step_answered(index, t_ms, action, outcome);
        Ok(())
    }

    /// Sends one action to the pump; a refusal is recorded as a deviation and returned.
    async fn send(
        &mut self,
        index: usize,
        t_ms: u64,
        action: &Action,
    ) -> Result<StepOutcome, Interrupted> {
        self.ask(async |pump| steps::prepare(pump, action).await)
            .await
            .map_err(Interrupted::Device)?;
        let sent = super::device_day::on_device_day(action, self.clock.origin_ms());
        let outcome = match self.ask(async |pump| steps::apply(pump, &sent).await).await {
            Ok(()) => {
                self.restore.step_applied(action);
                StepOutcome::Ok
            }
            Err(DriverError::Nack { code, .. }) => {
                self.deviation(
                    Some(t_ms),
                    "step-refused",
                    format!("step {} refused by the device: {code}", index + 1),
                );
                StepOutcome::Refused { code }
            }
            Err(e) => return Err(Interrupted::Device(e)),
        };
        Ok(outcome)
    }

    async fn timeline(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), Interrupted> {
        let scenario = self.scenario;
        let step_times = scenario.steps.iter().map(|s| s.at_ms).collect();
        let mut schedule = Schedule::new(step_times, scenario.sample_times()).peekable();
        while let Some(moment) = schedule.next() {
            let (Moment::Step { t_ms, .. } | Moment::Sample { t_ms }) = moment;
            if matches!(moment, Moment::Sample { .. }) && self.pipelining() {
                let mut times = vec![t_ms];
                // A batch ends before the next step, and at the sample that is due to read the
                // event log, so the log is read at the same moments as one sample at a time. A
                // suspicion that arises within a batch (a status its events did not announce) is
                // read out at the batch's last sample: the log gives recovered alarms their own
                // device times.
                while times.len() < self.devices.sample_batch
                    && !self.alarms.log_read_due(times[times.len() - 1])
                {
                    match schedule.next_if(|m| matches!(m, Moment::Sample { .. })) {
                        Some(Moment::Sample { t_ms }) => times.push(t_ms),
                        _ => break,
                    }
                }
                self.pipelined_samples(&times, shutdown).await?;
                continue;
            }
            let read = match moment {
                Moment::Sample { .. } if self.devices.virtual_time => {
                    match self.advance_and_read(t_ms, shutdown).await? {
                        // The balance weighs what the advance delivered: its read follows.
                        Some((plant, status)) => Some((plant, status, self.weigh().await?)),
                        None => None,
                    }
                }
                _ => None,
            };
            if read.is_none() {
                let balance = self.devices.balance.as_mut();
                timeline::wait_until(&self.clock, &self.devices.pump, balance, t_ms, shutdown)
                    .await?;
                self.drain();
            }
            match moment {
                Moment::Step { index, t_ms } => {
                    self.step(index, t_ms, &scenario.steps[index].action, shutdown)
                        .await?
                }
                Moment::Sample { t_ms } => {
                    self.sample(t_ms, read).await?;
                    if self.alarms.log_read_due(t_ms) {
                        self.reconcile(t_ms).await?;
                    }
                }
            }
        }
        if *shutdown.borrow() {
            return Err(Interrupted::Signal);
        }
        // Whatever the link lost, the log still holds: read it before judging.
        self.reconcile(scenario.end_ms).await
    }

    /// Clears what the scenario injected, on every exit; a lost pump is not asked.
    async fn restore(&mut self, interrupted: Option<&Interrupted>) {
        if let Some(Interrupted::Device(lost)) = interrupted {
            for restore in self.restore.abandon(lost) {
                self.record_restore(restore);
            }
            return;
        }
        while let Some(restore) = self.restore.clear_next(&self.devices.pump).await {
            self.drain();
            self.record_restore(restore);
        }
    }

    fn record_restore(&self, restore: Restore) {
        self.sink.emit(RunEvent::StepApplied {
            scenario: self.id(),
            t_ms: self.last_sample_ms,
            index: restore.index,
            action: restore.action(),
            outcome: restore.outcome,
        });
    }
}

/// The pump's identity and its device time at scenario time 0 (the start of a device minute
/// when the scenario follows the device's day), or why the scenario cannot run.
async fn identify(
    scenario: &Scenario,
    pump: &PumpDriver,
    virtual_time: bool,
) -> Result<(Identity, u64), (ScenarioVerdict, String)> {
    let identity = pump.identify().await.map_err(|e| {
        (
            ScenarioVerdict::Incomplete,
            format!("pump did not identify: {e}"),
        )
    })?;
    let capacity_nl = scenario.device.reservoir_ml as u64 * crate::units::NL_PER_ML;
    if identity.reservoir_capacity_nl != capacity_nl {
        return Err((
            ScenarioVerdict::Error,
            format!(
                "scenario needs a {} mL reservoir; the pump has {} nL",
                scenario.device.reservoir_ml, identity.reservoir_capacity_nl
            ),
        ));
    }
    let now_ms = pump
        .status()
        .await
        .map_err(|_| {
            (
                ScenarioVerdict::Incomplete,
                "pump did not report status".to_string(),
            )
        })?
        .device_time_ms;
    if !super::device_day::follows_device_day(scenario) {
        return Ok((identity, now_ms));
    }
    let origin_ms = super::device_day::start_on_a_minute(pump, now_ms, virtual_time)
        .await
        .map_err(|reason| (ScenarioVerdict::Incomplete, reason))?;
    Ok((identity, origin_ms))
}

fn scenario_started(
    scenario: &Scenario,
    expected: &Expected<'_>,
    identity: &Identity,
    devices: &Devices,
) -> RunEvent {
    RunEvent::ScenarioStarted {
        scenario: scenario.id.clone(),
        title: scenario.title.clone(),
        description: scenario.description.clone(),
        requirements: scenario.requirements.clone(),
        hazard: scenario.hazard.clone(),
        negative_control: scenario.negative_control.clone(),
        file: FileRef {
            path: scenario.path.display().to_string(),
            sha256: scenario.sha256.clone(),
        },
        fixtures: expected.fixture_files.clone(),
        device: device_info(
            identity,
            devices.device_kind,
            devices.link,
            &devices.pump_port,
            devices.time_base(),
        ),
        balance: devices.balance_info.clone(),
        test_system: devices.test_system.clone(),
        end_ms: scenario.end_ms,
        sample_ms: scenario.sample_ms,
        setup: ScenarioSetup {
            device: scenario.device.clone(),
            bench: scenario.bench.clone(),
            tolerance: scenario.tolerance.clone(),
            defects: scenario.defects.clone(),
        },
        steps: scenario.steps.clone(),
        expectations: scenario.expect.clone(),
        expected_samples: expected.plot_rows.to_vec(),
        expected_alarms: expected.alarms.to_vec(),
    }
}

/// Runs a scenario whose devices are open; records everything and returns the verdict.
pub async fn run_scenario(
    scenario: &Scenario,
    expected: Expected<'_>,
    devices: &mut Devices,
    sink: &Sink,
    mut shutdown: watch::Receiver<bool>,
    require_conclusive: bool,
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

    let (identity, origin_ms) = match identify(scenario, &devices.pump, devices.virtual_time).await
    {
        Ok(found) => found,
        Err((verdict, reason)) => return finish(verdict, vec![], Some(reason)),
    };
    let clock = if devices.virtual_time {
        DeviceClock::Virtual { origin_ms }
    } else {
        DeviceClock::real_time(origin_ms, devices.clock_tolerance)
    };
    sink.emit(scenario_started(scenario, &expected, &identity, devices));
    for warning in &devices.warnings {
        sink.emit(RunEvent::Deviation {
            scenario: Some(scenario.id.clone()),
            t_ms: None,
            kind: "bench-check".into(),
            detail: warning.clone(),
        });
    }

    let sampling = devices.sampling;
    let balance_noise_mg = devices.balance_noise_mg;
    let balance_figures = devices.balance_figures.clone();
    let mut run = Execution {
        scenario,
        sink,
        devices,
        clock,
        expected_rows: expected.rows,
        judge: Judge::with_balance(
            scenario,
            BalanceNoise {
                sd_mg: balance_noise_mg,
            },
            &balance_figures,
        ),
        last_sample_ms: 0,
        alarms: AlarmTracker::new(origin_ms),
        sightings: Default::default(),
        restore: FaultRestore::new(scenario.steps.len()),
        sampling,
        plant_answered: true,
        balance_streaming: false,
    };
    if !run.devices.virtual_time {
        run.judge.on_real_time_bench();
    }
    let mut interrupted = None;
    for setup in Setup::for_scenario(scenario) {
        if let Err(e) = run.ask(async |pump| setup.apply(pump).await).await {
            interrupted = Some(Interrupted::Device(e));
            run.deviation(Some(0), "setup", format!("{} failed", setup.label()));
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
    run.restore(interrupted.as_ref()).await;
    run.drain();
    if let Some(reason) = interrupted {
        return finish(
            ScenarioVerdict::Incomplete,
            vec![],
            Some(reason.to_string()),
        );
    }

    // Real-time bench: a device timestamp earlier than a poll that saw no alarm is refuted.
    let drift = run.judge.clock_drift_percent().unwrap_or(0.0).abs()
        + scenario.tolerance.clock_drift_percent;
    for refuted in run.sightings.refuted(run.alarms.transitions(), drift) {
        run.judge.refute_onset(
            refuted.alarm,
            format!(
                "the device stamps the raise at {}, but the harness's status poll at {} (host clock) still showed no {}",
                crate::checks::time(refuted.claimed_ms),
                crate::checks::time(refuted.absent_at_ms),
                refuted.alarm
            ),
        );
    }
    if let Some(result) = run.judge.trumpet_result() {
        sink.emit(RunEvent::Trumpet {
            scenario: id.clone(),
            result,
        });
    }
    let boluses = run.judge.bolus_rows();
    if !boluses.is_empty() {
        sink.emit(RunEvent::BolusVolumes {
            scenario: id.clone(),
            rows: boluses,
        });
    }
    let (results, findings) = run.judge.finish(run.alarms.transitions());
    for f in &findings {
        sink.emit(RunEvent::Finding {
            scenario: id.clone(),
            kind: f.kind,
            t_ms: f.t_ms,
            detail: f.detail.clone(),
        });
    }
    // An inconclusive check is listed as failed only where it fails the scenario.
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed() && (require_conclusive || !r.inconclusive()))
        .map(|r| r.name.clone())
        .collect();
    // A control is caught only by checks that were judged and failed, not by "not evaluated".
    let judged_failed: Vec<String> = results
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.name.clone())
        .collect();
    let not_evaluated: Vec<String> = results
        .iter()
        .filter(|r| !r.passed() && !r.failed() && !r.inconclusive())
        .map(|r| r.name.clone())
        .collect();
    let inconclusive: Vec<String> = results
        .iter()
        .filter(|r| r.inconclusive())
        .map(|r| r.name.clone())
        .collect();
    for result in results {
        sink.emit(RunEvent::Check {
            scenario: id.clone(),
            result,
        });
    }
    // record::verdict owns the negative-control rule.
    let verdict = verdict::judge_scenario(
        scenario.negative_control.as_ref(),
        &judged_failed,
        &not_evaluated,
        &inconclusive,
        require_conclusive,
    );
    let reason = match (&scenario.negative_control, verdict) {
        (Some(nc), ScenarioVerdict::ControlMissed) => {
            Some(format!("required to fail: {}", nc.must_fail.join(", ")))
        }
        _ => None,
    };
    finish(verdict, failed, reason)
}
