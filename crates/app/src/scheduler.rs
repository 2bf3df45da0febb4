//! The reminder scheduler: one tokio task that sleeps until the next thing is due, shows
//! the follow-ups that came due, and goes back to sleep.
//!
//! Each round ("evaluation") applies the follow-up rules, shows every follow-up due and not
//! yet shown (grouped when many: the catch-up after the app was closed is simply the first
//! round), marks them shown, wakes the conversations whose timed snooze ended, runs the
//! extra [`TimedJob`]s, and computes the earliest next due time of all of them. Then it sleeps until that time, or until
//! [`SchedulerHandle::changed`] says something was added or changed.
//!
//! Why each sleep is also capped (`recheck_every`, 60 s by default) and why that is not a
//! polling loop: tokio's clock is monotonic and stops while the laptop is suspended, and
//! it does not follow the wall clock when that is set (NTP after a resume, a time-zone
//! trip). A sleep computed as "3 hours from now" before a 2-hour suspend would fire 2 hours
//! late. Re-reading the wall clock ([`crate::Host::now`]) at least once a minute bounds
//! that error to a minute, and also catches follow-ups added by another process on the
//! same database (the CLI beside the app), which cannot poke this process. A round with
//! nothing due costs one probe of the `followups_due` index plus the rules' insert-or-ignore,
//! well under a millisecond at 10,000 pending follow-ups: the measured idle CPU over a
//! minute is in `bench/followups`. Detecting suspend directly (CLOCK_BOOTTIME against
//! CLOCK_MONOTONIC, timerfd's cancel-on-set) needs platform code for each OS and still
//! misses the other-process case, so the cap is the simpler sufficient answer. With
//! `recheck_every: None` the task parks with no timer at all until poked.

use crate::notify::{self, Notifier};
use crate::{App, AppError, ErrorCode, Result};
use shopdesk_core::{ConversationId, FollowupId, Millis};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How the scheduler behaves.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerOptions {
    /// Re-read the wall clock at least this often (see the module docs); `None` parks
    /// until poked when nothing is pending.
    pub recheck_every: Option<Duration>,
    /// More follow-ups due at once than this become one grouped notification.
    pub group_over: usize,
    /// After the notification server failed, try again this much later.
    pub retry_after: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> SchedulerOptions {
        SchedulerOptions {
            recheck_every: Some(Duration::from_secs(60)),
            group_over: notify::GROUP_OVER,
            retry_after: Duration::from_secs(30),
        }
    }
}

/// Other timed work sharing the scheduler's task (e.g. send-later replies): does what is
/// due at `now` and returns when it next needs to run. Timed conversation snoozes are
/// built in.
pub type TimedJob = Box<dyn FnMut(&mut App, Millis) -> Result<Option<Millis>> + Send>;

/// Receives what each round did.
type EventSink = Box<dyn FnMut(&SchedulerEvent) + Send>;

/// What a round did, for logs and the window's tray badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerEvent {
    /// These follow-ups were shown in `notifications` notifications.
    Reminded {
        followups: Vec<FollowupId>,
        notifications: usize,
        at: Millis,
    },
    /// These snoozed conversations' time came: they are open again.
    Woken {
        conversations: Vec<ConversationId>,
        at: Millis,
    },
    /// Showing or reading failed; the round is retried later.
    Failed(AppError),
}

/// Wakes a running scheduler and counts its rounds. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SchedulerHandle {
    wake: Arc<Notify>,
    rounds: Arc<AtomicUsize>,
}

impl SchedulerHandle {
    /// Something was added or changed (a follow-up, a snooze, a rule): re-evaluate now.
    /// A poke while the scheduler is in a round is kept for the sleep after it; with no
    /// scheduler running it is a no-op.
    pub fn changed(&self) {
        self.wake.notify_waiters();
    }

    /// How many rounds the scheduler has run (each is one wake-up).
    pub fn rounds(&self) -> usize {
        self.rounds.load(Ordering::Relaxed)
    }
}

/// The scheduler; [`Scheduler::run`] is the task.
pub struct Scheduler {
    app: Arc<Mutex<App>>,
    notifier: Arc<dyn Notifier>,
    options: SchedulerOptions,
    jobs: Vec<TimedJob>,
    handle: SchedulerHandle,
    on_event: Option<EventSink>,
}

impl Scheduler {
    /// A scheduler over `app`: every follow-up change made through this `App` wakes it.
    pub fn new(
        app: Arc<Mutex<App>>,
        notifier: Arc<dyn Notifier>,
        options: SchedulerOptions,
    ) -> Scheduler {
        let handle = app.lock().map(|a| a.reminders.clone()).unwrap_or_default();
        Scheduler {
            app,
            notifier,
            options,
            jobs: Vec::new(),
            handle,
            on_event: None,
        }
    }

    pub fn handle(&self) -> SchedulerHandle {
        self.handle.clone()
    }

    /// Adds timed work run in every round (see [`TimedJob`]).
    pub fn with_job(mut self, job: TimedJob) -> Scheduler {
        self.jobs.push(job);
        self
    }

    /// Called with what each round did.
    pub fn on_event(mut self, f: impl FnMut(&SchedulerEvent) + Send + 'static) -> Scheduler {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Runs until the task is dropped or aborted.
    pub async fn run(mut self) {
        let wake = self.handle.wake.clone();
        loop {
            // Listen before the round reads the database, so a change made during the
            // round still wakes the sleep after it; pokes from before need no keeping,
            // the round reads everything afresh.
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (now, next) = self.round();
            let delay = next.map(|at| {
                Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
            });
            let delay = match (delay, self.options.recheck_every) {
                (Some(d), Some(cap)) => Some(d.min(cap)),
                (Some(d), None) => Some(d),
                (None, cap) => cap,
            };
            match delay {
                Some(d) => {
                    tokio::select! {
                        () = tokio::time::sleep(d) => {}
                        () = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// One round now (the catch-up, or `remind --once`); returns when the next is due.
    pub fn run_once(&mut self) -> Option<Millis> {
        self.round().1
    }

    /// One round: returns the wall-clock time it ran at and the next time anything is due.
    fn round(&mut self) -> (Millis, Option<Millis>) {
        self.handle.rounds.fetch_add(1, Ordering::Relaxed);
        let Ok(mut app) = self.app.lock() else {
            // A panic elsewhere poisoned the app: nothing sensible to schedule.
            return (0, None);
        };
        let now = app.now();
        let retry =
            now + i64::try_from(self.options.retry_after.as_millis()).unwrap_or(i64::MAX / 2);
        let mut events = Vec::new();
        let mut next = match remind(
            &mut app,
            self.notifier.as_ref(),
            self.options.group_over,
            now,
        ) {
            Ok(Some(event)) => {
                events.push(event);
                app.next_followup_due()
            }
            Ok(None) => app.next_followup_due(),
            Err(e) => {
                events.push(SchedulerEvent::Failed(e));
                Ok(Some(retry))
            }
        }
        .unwrap_or_else(|e| {
            events.push(SchedulerEvent::Failed(e));
            Some(retry)
        });
        // Timed conversation snoozes share the task: wake the due ones, sleep until the next.
        match app.wake_due_snoozes().and_then(|woken| {
            if !woken.is_empty() {
                events.push(SchedulerEvent::Woken {
                    conversations: woken,
                    at: now,
                });
            }
            app.next_snooze_due()
        }) {
            Ok(Some(at)) => next = Some(next.map_or(at, |n| n.min(at))),
            Ok(None) => {}
            Err(e) => {
                events.push(SchedulerEvent::Failed(e));
                next = Some(next.map_or(retry, |n| n.min(retry)));
            }
        }
        for job in &mut self.jobs {
            match job(&mut app, now) {
                Ok(Some(at)) => next = Some(next.map_or(at, |n| n.min(at))),
                Ok(None) => {}
                Err(e) => {
                    events.push(SchedulerEvent::Failed(e));
                    next = Some(next.map_or(retry, |n| n.min(retry)));
                }
            }
        }
        drop(app);
        if let Some(f) = &mut self.on_event {
            events.iter().for_each(f);
        }
        (now, next)
    }
}

/// Applies the rules, shows what is due at `now`, marks it shown. A notification the
/// server refused leaves its follow-ups unmarked (they are retried); the ones shown
/// before it stay marked, so nothing shows twice.
fn remind(
    app: &mut App,
    notifier: &dyn Notifier,
    group_over: usize,
    now: Millis,
) -> Result<Option<SchedulerEvent>> {
    app.apply_followup_rules()?;
    let due = app.due_reminders(now)?;
    if due.is_empty() {
        return Ok(None);
    }
    let batches: Vec<&[shopdesk_store::DueFollowup]> = if due.len() > group_over {
        vec![&due[..]]
    } else {
        due.chunks(1).collect()
    };
    let mut shown = Vec::new();
    let mut count = 0;
    for batch in batches {
        let notifications = notify::reminder_notifications(batch, group_over);
        for n in &notifications {
            if let Err(e) = notifier.notify(n) {
                app.mark_reminded(&shown, now)?;
                return Err(AppError::new(ErrorCode::Io, e.to_string()));
            }
            count += 1;
        }
        shown.extend(batch.iter().map(|d| d.id));
    }
    app.mark_reminded(&shown, now)?;
    Ok(Some(SchedulerEvent::Reminded {
        followups: shown,
        notifications: count,
        at: now,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Host;
    use crate::notify::{Notification, NotifyError, RecordingNotifier};
    use shopdesk_core::CustomerId;

    const BASE: Millis = 1_800_000_000_000;

    /// Wall-clock time that follows tokio's (paused, test-driven) clock.
    struct TokioHost {
        start: tokio::time::Instant,
    }

    impl Host for TokioHost {
        fn now(&self) -> Millis {
            BASE + i64::try_from(self.start.elapsed().as_millis()).unwrap_or(0)
        }
        fn time_zone(&self) -> jiff::tz::TimeZone {
            jiff::tz::TimeZone::UTC
        }
    }

    fn app(dir: &tempfile::TempDir, customers: usize) -> Arc<Mutex<App>> {
        let app = App::open(
            &dir.path().join("t.db"),
            TokioHost {
                start: tokio::time::Instant::now(),
            },
        )
        .expect("open");
        let conn = rusqlite::Connection::open(dir.path().join("t.db")).expect("conn");
        for i in 1..=customers {
            conn.execute(
                "INSERT INTO customers(id, name, created_at, updated_at) VALUES (?1, ?2, 0, 0)",
                rusqlite::params![i as i64, format!("Customer {i}")],
            )
            .expect("customer");
        }
        Arc::new(Mutex::new(app))
    }

    fn add(app: &Arc<Mutex<App>>, customer: i64, due: Millis, allow_past: bool) {
        app.lock()
            .expect("lock")
            .add_followup(CustomerId(customer), None, due, "check in", allow_past)
            .expect("add");
    }

    fn start(
        app: &Arc<Mutex<App>>,
        options: SchedulerOptions,
    ) -> (
        RecordingNotifier,
        SchedulerHandle,
        tokio::task::JoinHandle<()>,
    ) {
        let notifier = RecordingNotifier::default();
        let scheduler = Scheduler::new(app.clone(), Arc::new(notifier.clone()), options);
        let handle = scheduler.handle();
        (notifier, handle, tokio::spawn(scheduler.run()))
    }

    /// With nothing pending and no recheck, the task runs one round and then never wakes
    /// (an hour of fake time passes with no further round); with the default one-minute
    /// recheck an hour costs 60 rounds and shows nothing.
    #[tokio::test(start_paused = true)]
    async fn idle_scheduler_does_not_wake() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir, 1);
        let (notifier, handle, task) = start(
            &app,
            SchedulerOptions {
                recheck_every: None,
                ..SchedulerOptions::default()
            },
        );
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(handle.rounds(), 1);
        task.abort();
        // The second scheduler shares the App's handle, so count its rounds from here.
        let (notifier2, handle2, task2) = start(&app, SchedulerOptions::default());
        tokio::time::sleep(Duration::from_secs(3600) + Duration::from_millis(1)).await;
        assert_eq!(handle2.rounds() - 1, 61);
        task2.abort();
        assert!(notifier.taken().is_empty() && notifier2.taken().is_empty());
    }

    /// A follow-up due in 2 s is shown exactly at its due time (not before), once, and a
    /// follow-up added through the App while the scheduler sleeps (with no timer at all)
    /// wakes it and is shown at its time.
    #[tokio::test(start_paused = true)]
    async fn fires_at_due_time_once() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir, 2);
        add(&app, 1, BASE + 2000, false);
        let (notifier, handle, task) = start(
            &app,
            SchedulerOptions {
                recheck_every: None,
                ..SchedulerOptions::default()
            },
        );
        tokio::time::sleep(Duration::from_millis(1999)).await;
        assert!(notifier.taken().is_empty(), "nothing before the due time");
        tokio::time::sleep(Duration::from_millis(2)).await;
        let shown = notifier.taken();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].summary, "Customer 1: check in");
        let rounds = handle.rounds();
        assert_eq!(rounds, 2, "one round at start, one at the due time");

        // Added through the same App: that alone wakes the sleeping scheduler.
        let due = app.lock().expect("lock").now() + 10_000;
        add(&app, 2, due, false);
        tokio::time::sleep(Duration::from_millis(10_001)).await;
        let shown = notifier.taken();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].summary, "Customer 2: check in");
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(notifier.taken().is_empty(), "shown once");
        task.abort();
    }

    /// Follow-ups that came due while nothing ran are shown in the first round: one each
    /// up to three, grouped beyond; a second start shows nothing again.
    #[tokio::test(start_paused = true)]
    async fn catch_up_once_grouped() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir, 5);
        for c in 1..=5 {
            add(&app, c, BASE - 60_000 * c, true);
        }
        let notifier = RecordingNotifier::default();
        let mut scheduler = Scheduler::new(
            app.clone(),
            Arc::new(notifier.clone()),
            SchedulerOptions::default(),
        );
        assert_eq!(scheduler.run_once(), None);
        let shown = notifier.taken();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].summary, "5 follow-ups due");
        let mut again = Scheduler::new(
            app.clone(),
            Arc::new(notifier.clone()),
            SchedulerOptions::default(),
        );
        again.run_once();
        assert!(notifier.taken().is_empty());
        assert_eq!(
            app.lock().expect("lock").due_count().expect("count"),
            5,
            "still due for the badge"
        );
    }

    /// A conversation snoozed until 5 s from now is opened by the round at 5 s: the
    /// scheduler (with no recheck) sleeps exactly until then, with no round in between.
    #[tokio::test(start_paused = true)]
    async fn wakes_timed_snoozes() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir, 1);
        let conn = rusqlite::Connection::open(dir.path().join("t.db")).expect("conn");
        conn.execute(
            "INSERT INTO conversations(id, customer_id, channel, status, snoozed_until, created_at, last_activity_at)
             VALUES (1, 1, 'email', 'snoozed', ?1, 0, 0)",
            [BASE + 5000],
        )
        .expect("conversation");
        let status = || -> String {
            conn.query_row("SELECT status FROM conversations WHERE id = 1", [], |r| {
                r.get(0)
            })
            .expect("status")
        };
        let (_notifier, handle, task) = start(
            &app,
            SchedulerOptions {
                recheck_every: None,
                ..SchedulerOptions::default()
            },
        );
        tokio::time::sleep(Duration::from_millis(4999)).await;
        assert_eq!((status().as_str(), handle.rounds()), ("snoozed", 1));
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!((status().as_str(), handle.rounds()), ("open", 2));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(handle.rounds(), 2, "nothing left: parked");
        task.abort();
    }

    struct Failing;
    impl Notifier for Failing {
        fn notify(&self, _: &Notification) -> std::result::Result<(), NotifyError> {
            Err(NotifyError::NoServer("test".into()))
        }
    }

    /// When the notification server refuses, the follow-up stays unshown and the round is
    /// retried after `retry_after` (no busy loop on a past due time).
    #[tokio::test(start_paused = true)]
    async fn refused_notification_is_retried_later() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir, 1);
        add(&app, 1, BASE - 1, true);
        let scheduler = Scheduler::new(
            app.clone(),
            Arc::new(Failing),
            SchedulerOptions {
                recheck_every: None,
                ..SchedulerOptions::default()
            },
        );
        let handle = scheduler.handle();
        let task = tokio::spawn(scheduler.run());
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(handle.rounds(), 3, "at 0 s, 30 s and 60 s");
        assert_eq!(
            app.lock()
                .expect("lock")
                .due_reminders(BASE + 61_000)
                .expect("due")
                .len(),
            1
        );
        task.abort();
    }
}
