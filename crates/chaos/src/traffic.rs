//! The two streams of the plan, each at its planned moments: patrons' texts handed to the
//! simulator's network (which keeps them while the modem is unreachable, as a real network
//! does), and the librarian's replies handed to her desk (which holds them while she is
//! offline).

use textgate_modemsim::{IncomingText, SimHandle};

use crate::clock::RunClock;
use crate::ledger::Ledger;
use crate::librarian::{Desk, Reply};
use crate::plan::PlannedText;

/// Sends the patrons' texts at their planned moments (counted from `clock`'s offset
/// `start`). A text the simulator refuses to encode is a bug in the plan, reported as such.
pub async fn texts_in(
    sim: &SimHandle,
    ledger: &Ledger,
    texts: &[PlannedText],
    clock: RunClock,
    start: std::time::Duration,
) -> Result<(), String> {
    for text in texts {
        // The plan's moment: the schedule of the traffic, not a wait for anything.
        tokio::time::sleep_until(clock.instant(start + text.at)).await;
        sim.inject_text(&IncomingText::new(text.patron.clone(), text.body.clone()))
            .map_err(|e| format!("the simulator refused {}: {e}", text.tag))?;
        ledger.injected(&text.tag, clock.now());
    }
    Ok(())
}

/// Hands the librarian's replies to her desk at their planned moments.
pub async fn replies_out(
    desk: &Desk,
    replies: &[PlannedText],
    clock: RunClock,
    start: std::time::Duration,
) {
    for reply in replies {
        tokio::time::sleep_until(clock.instant(start + reply.at)).await;
        desk.reply(Reply {
            id: reply.tag.clone(),
            to: reply.patron.clone(),
            body: reply.body.clone(),
        });
    }
}
