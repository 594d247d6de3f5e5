//! Reconnection delays: exponential growth with "equal jitter" (half the delay fixed, half
//! random), so a restarted server is not hit by every gateway at the same instant.

use std::time::Duration;

use crate::config::BackoffConfig;

/// The delay before reconnection attempt number `attempt` (0 for the first retry), given a
/// random `unit` in `[0, 1)`. Pure, so the schedule can be tested; [`delay`] draws `unit`.
pub fn delay_with(config: &BackoffConfig, attempt: u32, unit: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(31));
    let ceiling = config.initial.saturating_mul(factor).min(config.max);
    let half = ceiling / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// The delay before reconnection attempt number `attempt`, with fresh jitter.
pub fn delay(config: &BackoffConfig, attempt: u32) -> Duration {
    delay_with(config, attempt, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn schedule_grows_and_caps() {
        let config = BackoffConfig {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        };
        let schedule: Vec<String> = (0..10)
            .map(|n| {
                let low = delay_with(&config, n, 0.0);
                let high = delay_with(&config, n, 1.0);
                format!("{n}: {low:?}..{high:?}")
            })
            .collect();
        expect![[r#"
            0: 250ms..500ms
            1: 500ms..1s
            2: 1s..2s
            3: 2s..4s
            4: 4s..8s
            5: 8s..16s
            6: 15s..30s
            7: 15s..30s
            8: 15s..30s
            9: 15s..30s"#]]
        .assert_eq(&schedule.join("\n"));
        assert_eq!(delay_with(&config, u32::MAX, 1.0), Duration::from_secs(30));
    }
}
