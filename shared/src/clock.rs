//! "Now", injectable: pending points and expiry depend on it, so the local stack and tests can
//! move the clock (`omnilake local clock set …`) without touching the machine's time.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// The environment variable naming the clock file (set only in the local stack).
pub const CLOCK_FILE_ENV: &str = "OMNILAKE_CLOCK_FILE";

#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock (always, in AWS).
    #[default]
    System,
    /// The RFC 3339 instant in this file when it exists, else the system clock.
    File(PathBuf),
    /// A fixed instant (tests).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// `File` when `OMNILAKE_CLOCK_FILE` is set, else `System`.
    pub fn from_env() -> Clock {
        match std::env::var_os(CLOCK_FILE_ENV) {
            Some(path) if !path.is_empty() => Clock::File(path.into()),
            _ => Clock::System,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at,
            Clock::File(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_file_moves_now_and_its_absence_falls_back() {
        let dir = std::env::temp_dir().join(format!("omnilake-clock-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("clock");
        let clock = Clock::File(path.clone());
        let real = clock.now();
        assert!((Utc::now() - real).num_seconds().abs() < 5);
        let _ = std::fs::write(&path, "2027-12-31T23:59:59+08:00\n");
        assert_eq!(clock.now().to_rfc3339(), "2027-12-31T15:59:59+00:00");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
