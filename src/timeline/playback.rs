//! The [`Playback`] component and its clock arithmetic (no ECS here: the
//! systems in the parent module call [`Playback::advance`]).

use bevy::prelude::*;

/// What happens at the ends of the clip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Reflect)]
pub enum LoopMode {
    /// Play to the end (or the start, playing backwards), stop there and
    /// report [`PlaybackFinished`](super::PlaybackFinished) once.
    Once,
    /// Wrap around to the other end.
    #[default]
    Loop,
    /// Bounce between the ends, reversing direction at each.
    PingPong,
}

/// Which clock advances a [`Playback`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Reflect)]
pub enum PlaybackClock {
    /// Bevy's virtual time (`Time<Virtual>`, in `Update`): pausing or scaling
    /// the game's time pauses or scales playback.
    #[default]
    Virtual,
    /// Wall-clock time (`Time<Real>`, in `Update`): plays while the game is paused.
    Real,
    /// The fixed timestep (`Time<Fixed>`, in `FixedUpdate`), for fixed-step
    /// games: playback moves in whole fixed steps.
    Fixed,
    /// Never advanced by the crate: game code sets the time (scrubbing,
    /// syncing to audio or gameplay) with [`Playback::seek`].
    Manual,
}

/// Playback state of a dynamic capture (a 4D splat clip, a splat sequence, an
/// animated transform). The time lives on the entity, so two entities sharing
/// one asset play independently.
///
/// `time` is in seconds from the start of the asset (not of the clip range).
/// Asset systems fill in [`duration`](Self::duration) once the asset is loaded;
/// until then the time advances without bounds.
#[derive(Component, Clone, Debug, PartialEq, Reflect)]
#[reflect(Component)]
pub struct Playback {
    /// Current time in seconds from the start of the asset.
    pub time: f32,
    /// Playback rate: 1 is real speed, negative plays backwards.
    pub speed: f32,
    /// Whether playback is paused (the time still responds to [`seek`](Self::seek)).
    pub paused: bool,
    /// Behaviour at the ends of the clip.
    pub mode: LoopMode,
    /// Part of the asset to play, `(start, end)` in seconds; `None` = all of it.
    /// Clamped to the asset's duration.
    pub clip: Option<(f32, f32)>,
    /// The clock that advances the time.
    pub clock: PlaybackClock,
    /// Length of the asset in seconds, set by the asset's systems.
    pub duration: Option<f32>,
    /// +1 or −1: the current direction of a ping-pong (multiplies `speed`).
    direction: f32,
    /// Set when a [`LoopMode::Once`] clip reached its end.
    finished: bool,
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            time: 0.0,
            speed: 1.0,
            paused: false,
            mode: LoopMode::Loop,
            clip: None,
            clock: PlaybackClock::Virtual,
            duration: None,
            direction: 1.0,
            finished: false,
        }
    }
}

/// What one [`Playback::advance`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdvanceOutcome {
    /// Wraps ([`LoopMode::Loop`]) or bounces ([`LoopMode::PingPong`]) that happened.
    pub loops: u32,
    /// A [`LoopMode::Once`] clip reached its end in this step.
    pub finished: bool,
}

impl Playback {
    /// Playing from the start, looping, on virtual time.
    pub fn new() -> Self {
        Self::default()
    }

    /// With a playback rate (negative plays backwards).
    pub fn with_speed(mut self, speed: f32) -> Self {
        self.speed = speed;
        self
    }

    /// With a loop mode.
    pub fn with_mode(mut self, mode: LoopMode) -> Self {
        self.mode = mode;
        self
    }

    /// With a clip range in seconds.
    pub fn with_clip(mut self, start: f32, end: f32) -> Self {
        self.clip = Some((start, end));
        self
    }

    /// With a clock.
    pub fn with_clock(mut self, clock: PlaybackClock) -> Self {
        self.clock = clock;
        self
    }

    /// With a known duration (asset systems set it for their assets; use this
    /// for playbacks that drive game code only).
    pub fn with_duration(mut self, seconds: f32) -> Self {
        self.duration = Some(seconds);
        self
    }

    /// Starting paused.
    pub fn paused(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Starting at `seconds`.
    pub fn at(mut self, seconds: f32) -> Self {
        self.time = seconds;
        self
    }

    /// Resumes playback; a finished [`LoopMode::Once`] clip restarts from its
    /// start (its end when playing backwards).
    pub fn play(&mut self) {
        self.paused = false;
        if self.finished {
            self.restart();
        }
    }

    /// Pauses playback.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Jumps to the start of the clip range (its end when playing backwards)
    /// and clears the finished state.
    pub fn restart(&mut self) {
        self.direction = 1.0;
        self.finished = false;
        if let Some((start, end)) = self.range() {
            self.time = if self.speed < 0.0 { end } else { start };
        } else {
            self.time = 0.0;
        }
    }

    /// Jumps to `seconds` (clamped to the clip range once the duration is
    /// known) and clears the finished state. NaN is ignored.
    pub fn seek(&mut self, seconds: f32) {
        if seconds.is_nan() {
            return;
        }
        self.finished = false;
        self.time = match self.range() {
            Some((start, end)) => seconds.clamp(start, end),
            None => seconds.max(0.0),
        };
    }

    /// Whether a [`LoopMode::Once`] clip has reached its end.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The direction a ping-pong is currently moving in (+1 or −1; always +1
    /// in the other modes). The effective rate is `speed · direction`.
    pub fn direction(&self) -> f32 {
        self.direction
    }

    /// The clip range in seconds, `clip` clamped to `[0, duration]`; `None`
    /// until the duration is known or when the range is empty or not finite.
    pub fn range(&self) -> Option<(f32, f32)> {
        let duration = self.duration.filter(|d| d.is_finite() && *d >= 0.0)?;
        let (start, end) = self.clip.unwrap_or((0.0, duration));
        let (start, end) = (start.clamp(0.0, duration), end.clamp(0.0, duration));
        (start.is_finite() && end.is_finite() && end > start).then_some((start, end))
    }

    /// Advances the time by `dt` seconds of the playback's clock (scaled by
    /// `speed`), wrapping, bouncing or stopping at the ends of the clip range.
    /// Several wraps in one large step are counted, not looped over.
    pub fn advance(&mut self, dt: f32) -> AdvanceOutcome {
        let mut outcome = AdvanceOutcome::default();
        if !self.time.is_finite() {
            self.time = self.range().map_or(0.0, |(start, _)| start);
        }
        // A clip that finished in Once mode moves again once the mode changes.
        if self.finished && self.mode != LoopMode::Once {
            self.finished = false;
        }
        let step = dt * self.speed;
        if self.paused || self.finished || !step.is_finite() || step == 0.0 {
            return outcome;
        }
        let Some((start, end)) = self.range() else {
            if self.duration.is_none() {
                self.time = (self.time + step).max(0.0);
            }
            return outcome;
        };
        let length = end - start;
        let time = self.time.clamp(start, end);
        match self.mode {
            LoopMode::Once => {
                self.direction = 1.0;
                let next = time + step;
                if next >= end && step > 0.0 || next <= start && step < 0.0 {
                    self.time = next.clamp(start, end);
                    self.finished = true;
                    outcome.finished = true;
                } else {
                    self.time = next;
                }
            }
            LoopMode::Loop => {
                self.direction = 1.0;
                let offset = time - start + step;
                let wraps = (offset / length).floor();
                self.time = start + offset.rem_euclid(length).min(length);
                outcome.loops = saturating_count(wraps.abs());
            }
            LoopMode::PingPong => {
                // Phase along the unfolded path [0, 2·length): forward, then back.
                let phase = if self.direction > 0.0 { time - start } else { 2.0 * length - (time - start) };
                let next = phase + step;
                let bounces = (next / length).floor() - (phase / length).floor();
                let folded = next.rem_euclid(2.0 * length);
                if folded < length {
                    self.direction = 1.0;
                    self.time = start + folded;
                } else {
                    self.direction = -1.0;
                    self.time = start + 2.0 * length - folded;
                }
                outcome.loops = saturating_count(bounces.abs());
            }
        }
        outcome
    }
}

fn saturating_count(count: f32) -> u32 {
    if count.is_finite() { count.min(u32::MAX as f32) as u32 } else { u32::MAX }
}
