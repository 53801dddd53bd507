//! Live console output: on a terminal a bar per running scenario (device time, wall time, ETA)
//! under a run bar ("n of N scenarios"); otherwise plain lines, with a heartbeat at least once
//! a minute while scenarios run and nothing else is printed.

use crate::record::RunEvent;
use crate::scenario::duration::format_duration;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest plain output stays silent while scenarios run.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(50);
/// How often the runner calls [`Console::tick`]; also how often a bar's text is redrawn.
pub const TICK: Duration = Duration::from_secs(1);
/// A bar's text is reformatted at most this often (a sample can take microseconds).
const REDRAW_EVERY: Duration = Duration::from_millis(200);

struct Running {
    started: Instant,
    end_ms: u64,
    t_ms: u64,
    redrawn: Instant,
    bar: Option<ProgressBar>,
    /// The bench running it (a run may have several at once): the operator must know where
    /// to act.
    station: Option<String>,
}

impl Running {
    /// "device 3d 4h of 10d, wall 12 s, ETA 30 s" at wall time `now`.
    fn describe(&self, now: Instant) -> String {
        let wall = now.saturating_duration_since(self.started);
        let eta = if self.t_ms == 0 {
            "ETA -".to_string()
        } else {
            let left = self.end_ms.saturating_sub(self.t_ms) as f64 / self.t_ms as f64;
            format!("ETA {}", short(wall.mul_f64(left)))
        };
        format!(
            "device {} of {}, wall {}, {eta}",
            format_duration(self.t_ms),
            format_duration(self.end_ms),
            short(wall)
        )
    }
}

/// A wall duration to the second, as a person reads it.
fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[derive(Default)]
struct Progress {
    total: usize,
    finished: usize,
    running: HashMap<String, Running>,
    /// When plain output last printed anything.
    last_line: Option<Instant>,
}

pub struct Console {
    bars: Option<MultiProgress>,
    run_bar: Option<ProgressBar>,
    progress: Mutex<Progress>,
    quiet: bool,
}

impl Console {
    /// Progress bars when stderr is a terminal and `plain` is not asked for.
    pub fn new(plain: bool, quiet: bool) -> Console {
        let fancy = !plain && !quiet && std::io::stderr().is_terminal();
        let bars = fancy.then(MultiProgress::new);
        let run_bar = bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{pos} of {len} scenarios finished, wall {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Console {
            bars,
            run_bar,
            progress: Mutex::new(Progress::default()),
            quiet,
        }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => {
                if let Ok(mut p) = self.progress.lock() {
                    p.last_line = Some(Instant::now());
                }
                eprintln!("{text}");
            }
        }
    }

    /// A line the operator must see, even with --quiet.
    fn prompt(&self, text: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    pub fn observe(&self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted { scenarios, .. } => self.run_started(scenarios.len()),
            RunEvent::OperatorWaiting {
                scenario,
                t_ms,
                instruction,
                timeout_ms,
                ..
            } => self.prompt(format!(
                "operator  {scenario}{} at {}: waiting for the operator: {instruction}\n          type your initials and press Enter to confirm (times out in {})",
                self.station_of(scenario)
                    .map(|station| format!(" on {station}"))
                    .unwrap_or_default(),
                crate::scenario::duration::format_duration(*t_ms),
                crate::scenario::duration::format_duration(*timeout_ms)
            )),
            RunEvent::OperatorConfirmed {
                scenario,
                instruction,
                confirmation,
                ..
            } => self.line(format!("operator  {scenario}: {instruction:?} {confirmation}")),
            RunEvent::ScenarioStarted {
                scenario,
                end_ms,
                test_system,
                device,
                ..
            } => self.scenario_started(
                scenario,
                *end_ms,
                // Where it runs: the bench's station, or said at once when no serial path is.
                test_system.as_ref().map(|t| t.station.clone()).or_else(|| {
                    let link = device.link;
                    (link == crate::record::DeviceLink::InMemory)
                        .then(|| format!("an {}", link.describe(device.kind)))
                }),
                Instant::now(),
            ),
            RunEvent::Sample { scenario, sample } => self.sampled(scenario, sample.t_ms),
            RunEvent::Deviation {
                scenario,
                kind,
                detail,
                ..
            } => {
                self.line(format!(
                    "deviation  {}  {kind}: {detail}",
                    scenario.as_deref().unwrap_or("-")
                ));
            }
            RunEvent::ScenarioFinished {
                scenario,
                verdict,
                failed_checks,
                wall_ms,
                reason,
            } => {
                let (n, total) = self.scenario_finished(scenario);
                let mut text = format!(
                    "{:14} {scenario}  ({wall_ms} ms, {n} of {total})",
                    verdict.label()
                );
                if !failed_checks.is_empty() {
                    text.push_str(&format!("  failed: {}", failed_checks.join(", ")));
                }
                if let Some(reason) = reason {
                    text.push_str(&format!("  [{reason}]"));
                }
                self.line(text);
            }
            _ => {}
        }
    }

    fn run_started(&self, total: usize) {
        if let Ok(mut p) = self.progress.lock() {
            p.total = total;
            p.last_line = Some(Instant::now());
        }
        if let Some(bar) = &self.run_bar {
            bar.set_length(total as u64);
        }
    }

    /// The bench station running `scenario`, when it runs on a bench.
    fn station_of(&self, scenario: &str) -> Option<String> {
        self.progress
            .lock()
            .ok()?
            .running
            .get(scenario)?
            .station
            .clone()
    }

    fn scenario_started(&self, scenario: &str, end_ms: u64, station: Option<String>, now: Instant) {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(end_ms));
            bar.set_style(
                ProgressStyle::with_template("{prefix:32} [{bar:24}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(scenario.to_string());
            bar
        });
        let running = Running {
            started: now,
            end_ms,
            t_ms: 0,
            redrawn: now,
            bar,
            station,
        };
        let on = running
            .station
            .as_ref()
            .map(|station| format!(" on {station}"))
            .unwrap_or_default();
        if let Some(bar) = &running.bar {
            bar.set_message(running.describe(now));
        }
        let started = match self.progress.lock() {
            Ok(mut p) => {
                p.running.insert(scenario.to_string(), running);
                format!(
                    "start  {scenario}{on}  ({} of {})",
                    p.finished + p.running.len(),
                    p.total
                )
            }
            Err(_) => format!("start  {scenario}{on}"),
        };
        if self.bars.is_none() {
            self.line(started);
        }
    }

    fn sampled(&self, scenario: &str, t_ms: u64) {
        let Ok(mut p) = self.progress.lock() else {
            return;
        };
        let Some(running) = p.running.get_mut(scenario) else {
            return;
        };
        running.t_ms = t_ms;
        if let Some(bar) = &running.bar {
            bar.set_position(t_ms);
            let now = Instant::now();
            if now.saturating_duration_since(running.redrawn) >= REDRAW_EVERY {
                running.redrawn = now;
                bar.set_message(running.describe(now));
            }
        }
    }

    /// Marks a scenario finished; returns how many are, and of how many.
    fn scenario_finished(&self, scenario: &str) -> (usize, usize) {
        let Ok(mut p) = self.progress.lock() else {
            return (0, 0);
        };
        if let Some(bar) = p.running.remove(scenario).and_then(|r| r.bar) {
            bar.finish_and_clear();
        }
        p.finished += 1;
        if let Some(bar) = &self.run_bar {
            bar.set_position(p.finished as u64);
        }
        (p.finished, p.total.max(p.finished))
    }

    /// Called every [`TICK`] while the run goes on: redraws the bars (wall time and ETA move
    /// during a long wait too) and, on plain output, prints a heartbeat when nothing was
    /// printed for [`HEARTBEAT_EVERY`].
    pub fn tick(&self) {
        if let Some(text) = self.heartbeat_at(Instant::now()) {
            self.line(text);
        }
    }

    /// The heartbeat line due at `now`, if any (plain output only).
    fn heartbeat_at(&self, now: Instant) -> Option<String> {
        let mut p = self.progress.lock().ok()?;
        if self.bars.is_some() {
            if let Some(bar) = &self.run_bar {
                bar.tick();
            }
            for running in p.running.values_mut() {
                if let Some(bar) = &running.bar {
                    running.redrawn = now;
                    bar.set_message(running.describe(now));
                }
            }
            return None;
        }
        if self.quiet || p.running.is_empty() {
            return None;
        }
        if p.last_line
            .is_some_and(|at| now.saturating_duration_since(at) < HEARTBEAT_EVERY)
        {
            return None;
        }
        p.last_line = Some(now);
        let mut running: Vec<_> = p
            .running
            .iter()
            .map(|(id, r)| format!("{id}: {}", r.describe(now)))
            .collect();
        running.sort();
        Some(format!(
            "running  {} of {} scenarios finished; {}",
            p.finished,
            p.total,
            running.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_output_beats_at_least_once_a_minute_while_a_scenario_runs() {
        let console = Console::new(true, false);
        console.run_started(3);
        let start = Instant::now();
        assert_eq!(
            console.heartbeat_at(start + HEARTBEAT_EVERY * 2),
            None,
            "nothing runs yet"
        );
        console.scenario_started("soak", 10 * 86_400_000, None, start);
        console.sampled("soak", 86_400_000);
        // The start line was just printed: no heartbeat yet.
        assert_eq!(
            console.heartbeat_at(Instant::now() + Duration::from_secs(10)),
            None
        );
        let at = Instant::now() + HEARTBEAT_EVERY;
        let line = console
            .heartbeat_at(at)
            .expect("a heartbeat after 50 s of silence");
        assert!(
            line.starts_with("running  0 of 3 scenarios finished; soak: device 1d of 10d"),
            "{line}"
        );

        assert!(line.contains("ETA"), "{line}");
        assert!(HEARTBEAT_EVERY + TICK <= Duration::from_secs(60));
        assert_eq!(
            console.heartbeat_at(at + Duration::from_secs(1)),
            None,
            "one heartbeat, then silence again"
        );
        assert!(console.heartbeat_at(at + HEARTBEAT_EVERY).is_some());
    }

    #[test]
    fn finished_scenarios_are_counted_n_of_total() {
        let console = Console::new(true, true);
        console.run_started(2);
        console.scenario_started("a", 1000, None, Instant::now());
        console.scenario_started("b", 1000, None, Instant::now());
        assert_eq!(console.scenario_finished("b"), (1, 2));
        assert_eq!(console.scenario_finished("a"), (2, 2));
    }

    #[test]
    fn the_eta_scales_the_wall_time_by_the_device_time_left() {
        let start = Instant::now();
        let running = Running {
            started: start,
            end_ms: 4 * 3_600_000,
            t_ms: 3_600_000,
            redrawn: start,
            bar: None,
            station: None,
        };
        // A quarter of the device time in 20 s: three quarters are left, 60 s.
        let text = running.describe(start + Duration::from_secs(20));
        assert!(text.ends_with("wall 20 s, ETA 1 min 00 s"), "{text}");
        assert_eq!(short(Duration::from_secs(3 * 3600 + 120)), "3 h 02 min");
    }
}
