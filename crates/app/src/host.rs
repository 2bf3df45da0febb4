use shopdesk_core::Millis;

/// What the use cases need from the machine they run on. The real one reads the system
/// clock and time zone; tests pass a [`FixedHost`].
pub trait Host: Send + Sync + 'static {
    fn now(&self) -> Millis;
    fn time_zone(&self) -> jiff::tz::TimeZone;
}

/// The system clock and the system's time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

impl Host for SystemHost {
    fn now(&self) -> Millis {
        jiff::Timestamp::now().as_millisecond()
    }
    fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::system()
    }
}

/// A stopped clock in a chosen zone, for tests.
#[derive(Debug, Clone)]
pub struct FixedHost {
    pub now: Millis,
    pub tz: jiff::tz::TimeZone,
}

impl Host for FixedHost {
    fn now(&self) -> Millis {
        self.now
    }
    fn time_zone(&self) -> jiff::tz::TimeZone {
        self.tz.clone()
    }
}
