//! The playout decision for a pull that has the expected packet: play it as is, play it
//! shrunk or stretched (time-scale hint), drop it for the next one, or insert a concealed
//! frame before it. NetEq's `DecisionLogic`, reduced to the delay error.

use super::config::Adaptation;

/// A time-scale hint for the audio layer, in samples of the RTP clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeScale {
    /// Play the frame as decoded.
    #[default]
    Normal,
    /// Shrink the decoded frame by about this many samples (NetEq "accelerate").
    Accelerate {
        /// Samples to take out.
        samples: u32,
    },
    /// Stretch the decoded frame by about this many samples (NetEq "preemptive expand").
    Expand {
        /// Samples to add.
        samples: u32,
    },
}

/// What to do with the packet due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Play(TimeScale),
    /// Discard it and play the next one (delay one frame too long).
    DropThenPlay,
    /// Conceal one frame and keep it for the next pull (delay too short).
    Insert,
}

/// `err`: current delay (at the pull) minus target, `frame`: samples per frame, `queued`:
/// decoded samples the audio layer still holds, all in clock ticks; `next_ready`: the packet
/// after the due one is in the buffer (a drop or an early pull needs it).
pub(crate) fn decide(
    mode: Adaptation,
    err: i64,
    frame: i64,
    queued: i64,
    next_ready: bool,
) -> Decision {
    match mode {
        Adaptation::Frames => {
            if err > frame + frame / 4 && next_ready {
                Decision::DropThenPlay
            } else if err < -frame / 4 {
                Decision::Insert
            } else {
                Decision::Play(TimeScale::Normal)
            }
        }
        Adaptation::TimeStretch => {
            // Shrinking brings the next pull forward: only with the next packet here.
            let deadband = frame / 8;
            let step = frame / 4;
            if err > 3 * frame && next_ready {
                Decision::DropThenPlay
            } else if err < -2 * frame {
                Decision::Insert
            } else if err < -deadband {
                Decision::Play(TimeScale::Expand {
                    samples: (-err).min(step) as u32,
                })
            } else if err > deadband && next_ready {
                Decision::Play(TimeScale::Accelerate {
                    samples: err.min(step) as u32,
                })
            } else if queued > deadband {
                // Audio queued ahead of this frame is pure latency: shrink it away (the
                // next pull still comes no earlier, so this needs no packet in hand).
                Decision::Play(TimeScale::Accelerate {
                    samples: queued.min(step) as u32,
                })
            } else {
                Decision::Play(TimeScale::Normal)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Adaptation::*;
    use Decision::*;

    #[test]
    fn frame_mode_has_a_one_and_a_half_frame_dead_band() {
        let f = 160;
        let cases = [
            (0, true, Play(TimeScale::Normal)),
            (150, true, Play(TimeScale::Normal)),
            (200, true, Play(TimeScale::Normal)),
            (201, true, DropThenPlay),
            (400, false, Play(TimeScale::Normal)),
            (-40, true, Play(TimeScale::Normal)),
            (-41, true, Insert),
        ];
        for (err, next, want) in cases {
            assert_eq!(decide(Frames, err, f, 0, next), want, "err {err}");
        }
    }

    #[test]
    fn stretch_mode_steps_a_quarter_frame_at_most() {
        let f = 160;
        let cases = [
            (0, Play(TimeScale::Normal)),
            (20, Play(TimeScale::Normal)),
            (30, Play(TimeScale::Accelerate { samples: 30 })),
            (300, Play(TimeScale::Accelerate { samples: 40 })),
            (-30, Play(TimeScale::Expand { samples: 30 })),
            (-100, Play(TimeScale::Expand { samples: 40 })),
            (481, DropThenPlay),
            (-321, Insert),
        ];
        for (err, want) in cases {
            assert_eq!(decide(TimeStretch, err, f, 0, true), want, "err {err}");
        }
        // No pulling early into an empty buffer; but queued audio is shrunk away.
        assert_eq!(
            decide(TimeStretch, 300, f, 0, false),
            Play(TimeScale::Normal)
        );
        assert_eq!(
            decide(TimeStretch, 0, f, 100, false),
            Play(TimeScale::Accelerate { samples: 40 })
        );
        assert_eq!(
            decide(TimeStretch, -30, f, 100, true),
            Play(TimeScale::Expand { samples: 30 })
        );
    }
}
